"""The database the app is configured to use, and what reaching it gave."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatabaseCheck:
    """A database the app is configured to use (from its environment) and what reaching it gave.

    Only host, port, database name and user are kept: never the password or the DSN.
    """

    unit: str
    setting: str
    origin: str
    scheme: str
    host: str | None
    port: int | None
    dbname: str | None
    user: str | None
    connected: bool | None
    connect_error: str | None
    login_driver: str | None
    login_ok: bool | None
    login_error: str | None
    login_note: str | None
    source: str
    # How reaching host:port is cited: `TCP connect to <host:port> (<setting>)`.
    connect_source: str = ""

    @property
    def target(self) -> str:
        """`127.0.0.1:5432/appdb` (as user app)."""
        host = self.host or "localhost"
        return f"{host}:{self.port or 5432}/{self.dbname or ''}"
