"""The backend run by supervisord (itself a systemd unit) instead of fastapi-backend.service."""

from __future__ import annotations

import time

from ..stack import APP_DIR, Stack
from ..venv import LAB_VENV_PATH
from . import UNIT, scenario, wait_status
from .app import _make_relative_import

PROGRAM = "fastapi-backend"
SUPERVISOR_UNIT = "supervisor.service"
# Debian's /lib/systemd/system/supervisor.service is masked in the lab: this is its ExecStart.
SUPERVISOR_UNIT_TEXT = """\
[Unit]
Description=Supervisor process control system for UNIX
After=network.target postgresql.service

[Service]
ExecStart=/usr/bin/supervisord -n -c /etc/supervisor/supervisord.conf
ExecStop=/usr/bin/supervisorctl $OPTIONS shutdown
ExecReload=/usr/bin/supervisorctl -c /etc/supervisor/supervisord.conf $OPTIONS reload
KillMode=process
Restart=on-failure
RestartSec=50s

[Install]
WantedBy=multi-user.target
"""
PROGRAM_CONF = f"""\
[program:{PROGRAM}]
command={LAB_VENV_PATH}/bin/uvicorn main:app --host 0.0.0.0 --port 8000
directory={APP_DIR}
user=app
autostart=true
autorestart=true
startsecs=3
startretries=3
environment=APP_ENV="production",PYTHONUNBUFFERED="1"
stdout_logfile=/var/log/supervisor/{PROGRAM}.out.log
stderr_logfile=/var/log/supervisor/{PROGRAM}.err.log
"""


def supervisorctl(stack: Stack, *args: str) -> str:
    return stack.lab.run(["supervisorctl", "-c", "/etc/supervisor/supervisord.conf", *args],
                         check=False).stdout


def program_state(stack: Stack) -> str:
    words = supervisorctl(stack, "status", PROGRAM).split()
    return words[1] if len(words) > 1 else ""


def wait_program(stack: Stack, state: str, timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        seen = program_state(stack)
        if seen == state:
            return
        time.sleep(0.2)
    raise AssertionError(f"supervisor program {PROGRAM} is {seen!r}, expected {state!r}")


def move_to_supervisor(stack: Stack) -> None:
    """Stop and disable the systemd unit; run the same backend as a supervisord program."""
    stack.lab.run(["systemctl", "disable", "--now", UNIT], check=True)
    (stack.units / SUPERVISOR_UNIT).write_text(SUPERVISOR_UNIT_TEXT)
    stack.lab.sh(
        "mkdir -p /etc/supervisor/conf.d /var/log/supervisor\n"
        f"cat > /etc/supervisor/conf.d/{PROGRAM}.conf <<'EOF'\n{PROGRAM_CONF}EOF\n"
        "systemctl daemon-reload\n"
        f"systemctl enable --now {SUPERVISOR_UNIT} >/dev/null 2>&1\n"
    )
    wait_program(stack, "RUNNING")
    wait_status(stack, "/api/health", 200)


@scenario(
    name="supervisor-healthy",
    category=None,
    description="The backend runs as a supervisord program (fastapi-backend.service is "
    "stopped and disabled): everything works.",
)
def supervisor_healthy(stack: Stack) -> None:
    move_to_supervisor(stack)


@scenario(
    name="supervisor-relative-import",
    category="app.relative_import",
    description="Under supervisord, main.py uses `from .config import settings`: the program "
    "exits at import until supervisord gives up (FATAL), nginx answers 502.",
    status=502,
    decisive=("attempted relative import with no known parent package",),
)
def supervisor_relative_import(stack: Stack) -> None:
    move_to_supervisor(stack)
    _make_relative_import(stack)
    supervisorctl(stack, "restart", PROGRAM)
    wait_program(stack, "FATAL")
    log = stack.lab.run(["cat", "/var/log/supervisor/supervisord.log"]).stdout
    if "entered FATAL state" not in log:
        raise AssertionError("supervisord.log does not say the program entered FATAL")
    wait_status(stack, "/api/health", 502)


@scenario(
    name="supervisor-stopped",
    category="service.not_running",
    description="Someone ran `supervisorctl stop fastapi-backend`: the program is STOPPED, "
    "nothing listens on :8000.",
    status=502,
)
def supervisor_stopped(stack: Stack) -> None:
    move_to_supervisor(stack)
    supervisorctl(stack, "stop", PROGRAM)
    wait_program(stack, "STOPPED")
    wait_status(stack, "/api/health", 502)
