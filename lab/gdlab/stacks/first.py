"""lab: the first stack (stack.py), as the fault families see it."""

from __future__ import annotations

from pathlib import Path

from ..stack import APP_DIR, SERVER_NAME
from ..venv import LAB_VENV_PATH
from . import StackSpec, register


def _not_staged(stage: Path) -> list[tuple[Path, str]]:
    raise NotImplementedError("the first stack is booted by stack.boot_stack")


SPEC = register(StackSpec(
    name="lab",
    description="the first stack: Debian nginx (sites-enabled), uvicorn :8000 under systemd, "
    "FastAPI in a flat folder, .env as EnvironmentFile, PostgreSQL :5432",
    manager="systemd",
    app="fastapi-backend.service",
    app_dir=APP_DIR,
    app_user="app",
    code_file=f"{APP_DIR}/main.py",
    venv=LAB_VENV_PATH,
    bind="127.0.0.1:8000",
    server_name=SERVER_NAME,
    port=80,
    site="/etc/nginx/sites-available/fastapi",
    path="/api/health",
    health="/health",
    slow="/api/slow",
    nginx=("systemd", "nginx.service"),
    stage=_not_staged,
    provision="",
))
