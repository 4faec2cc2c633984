"""Faults in the application code and its imports."""

from __future__ import annotations

from ..stack import Stack
from . import UNIT, scenario, wait_status


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
