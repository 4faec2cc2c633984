"""Faults in the application code and its imports."""

from __future__ import annotations

import os
import shutil
import time

from ..stack import Stack
from ..venv import LAB_VENV_PATH
from . import UNIT, scenario, wait_status
from .service import edit_unit, prepend_to_main


def append_to_main(stack: Stack, code: str) -> None:
    main = stack.backend / "main.py"
    main.write_text(main.read_text() + code)


def _make_relative_import(stack: Stack) -> None:
    main = stack.backend / "main.py"
    main.write_text(main.read_text().replace("from config import", "from .config import"))


@scenario(
    name="relative-import",
    category="app.relative_import",
    description="main.py uses `from .config import settings` while the unit runs "
    "`uvicorn main:app` from the backend folder: crash loop, 502.",
    status=502,
    decisive=("attempted relative import with no known parent package",),
)
def relative_import(stack: Stack) -> None:
    _make_relative_import(stack)
    stack.lab.run(["systemctl", "restart", UNIT], check=True)
    if not stack.journal_has(UNIT, "attempted relative import"):
        raise AssertionError("the ImportError never reached the journal")
    wait_status(stack, "/api/health", 502)


@scenario(
    name="relative-import-rotated",
    category="app.relative_import",
    description="The same import error, but systemd gave up and the journal was rotated "
    "away: only running the unit's own interpreter can show the cause.",
    status=502,
    decisive=("attempted relative import with no known parent package",),
)
def relative_import_rotated(stack: Stack) -> None:
    dropin = stack.units / f"{UNIT}.d"
    dropin.mkdir(exist_ok=True)
    (dropin / "limits.conf").write_text(
        "[Unit]\nStartLimitIntervalSec=120\nStartLimitBurst=2\n[Service]\nRestartSec=200ms\n"
    )
    stack.lab.run(["systemctl", "daemon-reload"], check=True)
    _make_relative_import(stack)
    stack.lab.run(["systemctl", "restart", UNIT])
    for _ in range(100):
        if stack.systemctl("show", "-p", "ActiveState", "--value", UNIT).strip() == "failed":
            break
        stack.lab.run(["sleep", "0.1"])
    else:
        raise AssertionError("systemd never gave up on the unit")
    stack.lab.sh("journalctl --rotate >/dev/null 2>&1; journalctl --vacuum-time=1s >/dev/null 2>&1")
    if "relative import" in stack.lab.run(["journalctl", "--no-pager", "-o", "cat"]).stdout:
        raise AssertionError("the journal still holds the traceback after rotation")
    wait_status(stack, "/api/health", 502)


def _restart_and_wait_journal(stack: Stack, text: str) -> None:
    stack.lab.run(["systemctl", "restart", UNIT])
    if not stack.journal_has(UNIT, text):
        raise AssertionError(f"{text!r} never reached the journal")


@scenario(
    name="missing-dependency",
    category="app.missing_dependency",
    description="psycopg2 is not installed in the venv the unit runs (requirements not "
    "installed there): ModuleNotFoundError, crash loop.",
    status=502,
    decisive=("No module named 'psycopg2'",),
)
def missing_dependency(stack: Stack) -> None:
    # The venv is an overlay inside the lab: removing here leaves the cached venv alone.
    stack.lab.sh(f"rm -rf {LAB_VENV_PATH}/lib/python3*/site-packages/psycopg2*")
    _restart_and_wait_journal(stack, "No module named 'psycopg2'")
    wait_status(stack, "/api/health", 502)


@scenario(
    name="wrong-target",
    category="app.wrong_target",
    description="The unit runs `uvicorn main:application` but the app object is `app`.",
    status=502,
    decisive=('Attribute "application" not found in module "main"',),
)
def wrong_target(stack: Stack) -> None:
    edit_unit(stack, "uvicorn main:app", "uvicorn main:application")
    _restart_and_wait_journal(stack, "Error loading ASGI app")
    wait_status(stack, "/api/health", 502)


@scenario(
    name="startup-failure",
    category="app.startup_failed",
    description="A lifespan startup handler raises: `Application startup failed. Exiting.`",
    status=502,
    decisive=("Application startup failed",),
)
def startup_failure(stack: Stack) -> None:
    append_to_main(
        stack,
        "\n\n@app.on_event(\"startup\")\n"
        "def load_models() -> None:\n"
        "    raise RuntimeError(\"model file /srv/app/models/ranker.bin is corrupt\")\n",
    )
    _restart_and_wait_journal(stack, "Application startup failed")
    wait_status(stack, "/api/health", 502)


@scenario(
    name="python-version",
    category="app.python_version",
    description="The code uses `typing.override` (Python 3.12+) but the unit's venv "
    "runs Python 3.11.",
    status=502,
    decisive=("cannot import name 'override' from 'typing'",),
)
def python_version(stack: Stack) -> None:
    prepend_to_main(stack, "from typing import override\n")
    _restart_and_wait_journal(stack, "cannot import name 'override'")
    wait_status(stack, "/api/health", 502)


@scenario(
    name="env-file-missing",
    category="config.env_missing",
    description="The .env named by EnvironmentFile= is gone: systemd refuses to start "
    "the unit (result 'resources').",
    status=502,
    decisive=("Failed to load environment files",),
)
def env_file_missing(stack: Stack) -> None:
    (stack.backend / ".env").rename(stack.backend / ".env.bak")
    _restart_and_wait_journal(stack, "Failed to load environment files")
    wait_status(stack, "/api/health", 502)


@scenario(
    name="env-var-unset",
    category="config.env_missing",
    description="POSTGRES_URL is missing from .env: settings validation fails at import.",
    status=502,
    decisive=("postgres_url",),
)
def env_var_unset(stack: Stack) -> None:
    env = stack.backend / ".env"
    env.write_text("".join(line for line in env.read_text().splitlines(keepends=True)
                           if not line.startswith("POSTGRES_URL=")))
    _restart_and_wait_journal(stack, "validation error")
    wait_status(stack, "/api/health", 502)


@scenario(
    name="permission-code",
    category="permission.denied",
    description="main.py was copied in by root with mode 600: the unit's User=app "
    "cannot read it.",
    status=502,
    decisive=("Permission denied",),
)
def permission_code(stack: Stack) -> None:
    main = stack.backend / "main.py"
    os.chown(main, 0, 0)
    main.chmod(0o600)
    # A fresh deploy has no bytecode cache the app user could fall back on.
    shutil.rmtree(stack.backend / "__pycache__", ignore_errors=True)
    _restart_and_wait_journal(stack, "Permission denied")
    wait_status(stack, "/api/health", 502)


@scenario(
    name="permission-write",
    category="permission.denied",
    description="The app writes its log under logs/, which belongs to root: "
    "PermissionError at start.",
    status=502,
    decisive=("Permission denied",),
)
def permission_write(stack: Stack) -> None:
    logs = stack.backend / "logs"
    logs.mkdir(mode=0o755)
    os.chown(logs, 0, 0)
    prepend_to_main(
        stack,
        "import logging\n"
        "logging.basicConfig(filename=\"logs/app.log\", level=logging.INFO)\n",
    )
    _restart_and_wait_journal(stack, "Permission denied")
    wait_status(stack, "/api/health", 502)


@scenario(
    name="port-conflict",
    category="port.conflict",
    description="Another process already holds :8000 (a forgotten debug server): the "
    "backend cannot bind, nginx talks to the squatter.",
    status=502,
    decisive=("address already in use",),
)
def port_conflict(stack: Stack) -> None:
    stack.lab.run(["systemctl", "stop", UNIT], check=True)
    # Accepts and hangs up at once: not HTTP, so nginx answers 502.
    stack.lab.run(
        ["systemd-run", "--unit=debug-server", "--property=User=nobody", "/usr/bin/python3",
         "-c",
         "import socket\n"
         "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
         "s.bind(('0.0.0.0', 8000)); s.listen()\n"
         "while True:\n    c, _ = s.accept(); c.close()\n"],
        check=True,
    )
    time.sleep(0.3)
    _restart_and_wait_journal(stack, "address already in use")
    wait_status(stack, "/api/health", 502)
