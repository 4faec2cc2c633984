"""Fault scenarios: a named mutation of the healthy stack and the category it must be diagnosed as.

A new failure mode adds one entry in the module of its area (plus its rule and
fixtures in the package). Modules: healthy, app, service, database, nginx, system.
`inject` breaks the stack for real and waits until the breakage is visible the way a
user would see it (the browser's status through nginx).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..stack import Stack

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


def wait_status(stack: Stack, path: str, status: int) -> None:
    seen = stack.wait_for(path, status, timeout=30)
    if seen != status:
        raise AssertionError(f"after injection {path} answers {seen}, expected {status}")




def _load_all() -> None:
    from . import app, database, healthy, nginx, service, supervisor, system  # noqa: F401 - registering is the import's effect


_load_all()
