"""Fault scenarios: a named mutation of the healthy stack and the category it must be diagnosed as.

A new failure mode adds one entry here (plus its rule and fixtures in the package).
`inject` breaks the stack for real and waits until the breakage is visible the way a
user would see it (the browser's status through nginx).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .stack import Stack

UNIT = "fastapi-backend.service"


@dataclass(frozen=True)
class Scenario:
    name: str
    category: str | None  # None: the stack is healthy and must be diagnosed so
    description: str
    inject: Callable[[Stack], None]
    path: str = "/api/health"  # the URL path the user complains about
    status: int = 200  # what the browser sees through nginx once injected
    variant: str = "uvicorn"
    decisive: tuple[str, ...] = ()  # text the top cause's evidence must hold


SCENARIOS: dict[str, Scenario] = {}


def scenario(**kwargs: object) -> Callable[[Callable[[Stack], None]], Callable[[Stack], None]]:
    """Register the decorated injector as a scenario."""

    def register(inject: Callable[[Stack], None]) -> Callable[[Stack], None]:
        s = Scenario(inject=inject, **kwargs)  # type: ignore[arg-type]
        if s.name in SCENARIOS:
            raise ValueError(f"duplicate scenario {s.name}")
        SCENARIOS[s.name] = s
        return inject

    return register


def _wait_status(stack: Stack, path: str, status: int) -> None:
    seen = stack.wait_for(path, status, timeout=30)
    if seen != status:
        raise AssertionError(f"after injection {path} answers {seen}, expected {status}")


def _make_relative_import(stack: Stack) -> None:
    main = stack.backend / "main.py"
    main.write_text(main.read_text().replace("from config import", "from .config import"))


@scenario(
    name="healthy",
    category=None,
    description="The stack as deployed: everything answers.",
)
def healthy(stack: Stack) -> None:
    _wait_status(stack, "/api/health", 200)


@scenario(
    name="healthy-gunicorn",
    category=None,
    description="gunicorn with uvicorn workers behind a unix socket, healthy.",
    variant="gunicorn",
)
def healthy_gunicorn(stack: Stack) -> None:
    _wait_status(stack, "/api/health", 200)


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
    _wait_status(stack, "/api/health", 502)


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
    _wait_status(stack, "/api/health", 502)
