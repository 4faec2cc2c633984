"""Faults between the backend and PostgreSQL, seen at start-up or only by /health."""

from __future__ import annotations

from collections.abc import Callable

from ..stack import DB_PASSWORD, Stack
from . import UNIT, scenario, wait_status
from .app import append_to_main

CHECK_DB_AT_STARTUP = (
    "\n\n@app.on_event(\"startup\")\n"
    "def check_database() -> None:\n"
    "    psycopg2.connect(settings.postgres_url, connect_timeout=3).close()\n"
)


def _edit_env(stack: Stack, old: str, new: str) -> None:
    env = stack.backend / ".env"
    text = env.read_text()
    if old not in text:
        raise AssertionError(f"{old!r} not in .env")
    env.write_text(text.replace(old, new))


def _db_stopped(stack: Stack) -> None:
    stack.lab.run(["systemctl", "stop", "postgresql.service"], check=True)


def _wrong_password(stack: Stack) -> None:
    _edit_env(stack, f":{DB_PASSWORD}@", ":0ld-Passw0rd@")


def _wrong_database(stack: Stack) -> None:
    _edit_env(stack, "/appdb", "/appdb_prod")


def _health_only(stack: Stack, break_db: Callable[[Stack], None]) -> None:
    break_db(stack)
    stack.lab.run(["systemctl", "restart", UNIT], check=True)
    wait_status(stack, "/api/health", 200)
    wait_status(stack, "/health", 503)


def _at_startup(stack: Stack, break_db: Callable[[Stack], None], journal_text: str) -> None:
    append_to_main(stack, CHECK_DB_AT_STARTUP)
    break_db(stack)
    stack.lab.run(["systemctl", "restart", UNIT])
    if not stack.journal_has(UNIT, journal_text):
        raise AssertionError(f"{journal_text!r} never reached the journal")
    wait_status(stack, "/api/health", 502)


CASES = (
    ("db-down", "database.unreachable", _db_stopped, "Connection refused",
     "PostgreSQL is stopped"),
    ("db-auth", "database.auth_failed", _wrong_password, "password authentication failed",
     "the password in POSTGRES_URL is wrong"),
    ("db-missing", "database.not_found", _wrong_database, 'database "appdb_prod" does not exist',
     "POSTGRES_URL names a database that does not exist"),
)

for _prefix, _category, _break, _text, _what in CASES:
    scenario(
        name=f"{_prefix}-health",
        category=_category,
        description=f"{_what}; the app still runs and only /health reports it (503).",
        path="/health",
        status=503,
        decisive=(_text,),
    )(lambda stack, b=_break: _health_only(stack, b))
    scenario(
        name=f"{_prefix}-startup",
        category=_category,
        description=f"{_what}; the app checks the database at start-up and crash-loops (502).",
        status=502,
        decisive=(_text,),
    )(lambda stack, b=_break, t=_text: _at_startup(stack, b, t))
