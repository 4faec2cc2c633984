"""The healthy stacks: the verdict must be `healthy`."""

from __future__ import annotations

from ..stack import Stack
from . import scenario, wait_status


@scenario(
    name="healthy",
    category=None,
    description="The stack as deployed: everything answers.",
)
def healthy(stack: Stack) -> None:
    wait_status(stack, "/api/health", 200)


@scenario(
    name="healthy-gunicorn",
    category=None,
    description="gunicorn with uvicorn workers behind a unix socket, healthy.",
    variant="gunicorn",
)
def healthy_gunicorn(stack: Stack) -> None:
    wait_status(stack, "/api/health", 200)
