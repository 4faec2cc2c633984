"""Faults in how systemd runs the backend."""

from __future__ import annotations

import time

from ..stack import APP_DIR, Stack
from . import UNIT, scenario, wait_status

CRASH_AT_IMPORT = "import os\nos._exit(1)  # dies before logging anything\n"


def edit_unit(stack: Stack, old: str, new: str, *, reload: bool = True) -> None:
    """Change the backend's unit file on disk (and daemon-reload unless told not to)."""
    path = stack.units / UNIT
    text = path.read_text()
    if old not in text:
        raise AssertionError(f"{old!r} not in the unit file")
    path.write_text(text.replace(old, new))
    if reload:
        stack.lab.run(["systemctl", "daemon-reload"], check=True)


def add_dropin(stack: Stack, name: str, text: str) -> None:
    dropin = stack.units / f"{UNIT}.d"
    dropin.mkdir(exist_ok=True)
    (dropin / name).write_text(text)
    stack.lab.run(["systemctl", "daemon-reload"], check=True)


def wait_unit(stack: Stack, state: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        seen = stack.systemctl("show", "-p", "ActiveState", "--value", UNIT).strip()
        if seen == state:
            return
        time.sleep(0.1)
    raise AssertionError(f"{UNIT} is {seen!r}, expected {state!r}")


def prepend_to_main(stack: Stack, code: str) -> None:
    main = stack.backend / "main.py"
    main.write_text(code + main.read_text())


@scenario(
    name="service-stopped",
    category="service.not_running",
    description="Someone ran `systemctl stop` on the backend: nothing listens on :8000.",
    status=502,
)
def service_stopped(stack: Stack) -> None:
    stack.lab.run(["systemctl", "stop", UNIT], check=True)
    wait_status(stack, "/api/health", 502)


@scenario(
    name="service-disabled",
    category="service.not_running",
    description="The backend unit is disabled and was not started after the reboot.",
    status=502,
    decisive=("disabled",),
)
def service_disabled(stack: Stack) -> None:
    stack.lab.run(["systemctl", "disable", "--now", UNIT], check=True)
    wait_status(stack, "/api/health", 502)


@scenario(
    name="crash-loop-unknown",
    category="service.crash_loop",
    description="The app exits with status 1 at start without a word: a restart loop "
    "whose reason the logs do not tell.",
    status=502,
    decisive=("status=1/FAILURE",),
)
def crash_loop_unknown(stack: Stack) -> None:
    prepend_to_main(stack, CRASH_AT_IMPORT)
    stack.lab.run(["systemctl", "restart", UNIT])
    if not stack.journal_has(UNIT, "Scheduled restart job"):
        raise AssertionError("no restart loop")
    wait_status(stack, "/api/health", 502)


@scenario(
    name="start-limit-hit",
    category="service.start_limit_hit",
    description="The app dies at once, systemd restarts it every 100 ms and gives up: "
    "`Start request repeated too quickly`.",
    status=502,
    decisive=("Start request repeated too quickly",),
)
def start_limit_hit(stack: Stack) -> None:
    add_dropin(stack, "restart.conf", "[Service]\nRestartSec=100ms\n")
    prepend_to_main(stack, CRASH_AT_IMPORT)
    stack.lab.run(["systemctl", "restart", UNIT])
    wait_unit(stack, "failed")
    wait_status(stack, "/api/health", 502)


@scenario(
    name="exec-missing",
    category="service.exec_missing",
    description="ExecStart points at a venv that does not exist (status=203/EXEC).",
    status=502,
    decisive=("203/EXEC",),
)
def exec_missing(stack: Stack) -> None:
    edit_unit(stack, "/srv/app/backend/venv/bin/python", "/srv/app/venv/bin/python")
    stack.lab.run(["systemctl", "restart", UNIT])
    if not stack.journal_has(UNIT, "203/EXEC"):
        raise AssertionError("no 203/EXEC in the journal")
    wait_status(stack, "/api/health", 502)


@scenario(
    name="workdir-missing",
    category="service.workdir_missing",
    description="WorkingDirectory names a folder that does not exist (status=200/CHDIR).",
    status=502,
    decisive=("200/CHDIR",),
)
def workdir_missing(stack: Stack) -> None:
    edit_unit(stack, f"WorkingDirectory={APP_DIR}", "WorkingDirectory=/srv/app/backend-v2")
    stack.lab.run(["systemctl", "restart", UNIT])
    if not stack.journal_has(UNIT, "200/CHDIR"):
        raise AssertionError("no 200/CHDIR in the journal")
    wait_status(stack, "/api/health", 502)


@scenario(
    name="unit-changed-no-reload",
    category="service.unit_changed",
    description="The unit file was fixed on disk, but without `systemctl daemon-reload` "
    "systemd still runs the old, broken ExecStart.",
    status=502,
    decisive=("daemon-reload",),
)
def unit_changed_no_reload(stack: Stack) -> None:
    edit_unit(stack, "/srv/app/backend/venv/bin/python", "/srv/app/venv/bin/python")
    stack.lab.run(["systemctl", "restart", UNIT])
    if not stack.journal_has(UNIT, "203/EXEC"):
        raise AssertionError("no 203/EXEC in the journal")
    # The fix lands on disk, the restart does not pick it up.
    edit_unit(stack, "/srv/app/venv/bin/python", "/srv/app/backend/venv/bin/python", reload=False)
    stack.lab.run(["systemctl", "restart", UNIT])
    if stack.systemctl("show", "-p", "NeedDaemonReload", "--value", UNIT).strip() != "yes":
        raise AssertionError("systemd does not see the unit change")
    wait_status(stack, "/api/health", 502)
