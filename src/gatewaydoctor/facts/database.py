"""The database the app is configured to use, and what reaching it gave."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..findings import Excerpt, Link
from .network import Probe

if TYPE_CHECKING:
    from .snapshot import Facts

# What PostgreSQL and its drivers (libpq/psycopg, asyncpg) say when the server cannot be
# reached, refuses the login, or has no such database (signatures.md, PostgreSQL section).
UNREACHABLE = re.compile(
    r"connection to server (?:at|on socket) .*failed: (?:Connection refused|No such file or "
    r"directory|timeout expired|Connection timed out|No route to host|Network is unreachable)"
    r"|could not connect to server|Connect call failed|could not translate host name"
    r"|failed to resolve host|the database system is (?:starting up|shutting down)"
    r"|connection timeout expired|Is the server running (?:on that host|locally)")
AUTH = re.compile(
    r'password authentication failed for user "[^"]*"|no pg_hba\.conf entry for host'
    r'|Peer authentication failed for user|role "[^"]*" does not exist'
    r"|InvalidPasswordError|InvalidAuthorizationSpecificationError")
NOT_FOUND = re.compile(r'database "[^"]*" does not exist|InvalidCatalogNameError')
KINDS = {"not_found": NOT_FOUND, "auth": AUTH, "unreachable": UNREACHABLE}


def classify(text: str | None) -> str | None:
    """`not_found`, `auth` or `unreachable` for a driver's error text (None if none of them)."""
    if not text:
        return None
    return next((kind for kind, pattern in KINDS.items() if pattern.search(text)), None)


@dataclass(frozen=True)
class DatabaseUnit:
    """A systemd unit of the local database server an app's DSN names (`postgresql.service`,
    `postgresql@15-main.service`, `mariadb.service`, `redis-server.service`), as `systemctl
    show` tells it; `app` is the unit whose DSN led to it."""

    name: str
    app: str
    load_state: str
    active_state: str
    sub_state: str
    result: str
    unit_file_state: str
    description: str
    source: str

    @property
    def stopped(self) -> bool:
        """Loaded (it exists) and not running: inactive or failed."""
        return self.load_state == "loaded" and self.active_state in ("inactive", "failed")


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


@dataclass
class DatabaseProblem:
    """A service's trouble with its database: unreachable, auth or not_found, with the
    freshest evidence (the doctor's login as the app, the TCP connect, the app's journal,
    a health endpoint's body)."""

    unit: str
    kind: str
    evidence: list[Excerpt]
    check: DatabaseCheck | None
    urls: list[str] = field(default_factory=list)
    log_line: str | None = None

    @property
    def links(self) -> list[Link]:
        """The service, the log line and the URLs this problem is about."""
        return [Link("unit", self.unit), *([Link("log", self.log_line)] if self.log_line else []),
                *(Link("url", u) for u in self.urls)]

    @property
    def user(self) -> str:
        """The role the app logs in as (`<user>` when no check named it)."""
        return (self.check.user if self.check else None) or "<user>"

    @property
    def setting(self) -> str:
        """The variable holding the database URL."""
        return self.check.setting if self.check else "POSTGRES_URL"

    @property
    def origin(self) -> str:
        """Where that variable is set."""
        return self.check.origin if self.check else "the app's .env"


def database_problems(facts: Facts) -> list[DatabaseProblem]:
    """Each service's database problem, from the checks, the journal and the probes."""
    cases: dict[str, DatabaseProblem] = {}
    for check in facts.databases or ():
        kind = _check_kind(check)
        if kind is not None and check.unit not in cases:
            cases[check.unit] = DatabaseProblem(check.unit, kind, _check_evidence(check), check)
    units = {u.name for u in facts.web_units()} | {e.unit for e in facts.journal or () if e.unit}
    for unit in sorted(units):
        _from_journal(facts, unit, cases)
    for p in facts.probes or ():
        _from_probe(facts, p, cases)
    return list(cases.values())


def _check_kind(check: DatabaseCheck) -> str | None:
    if check.login_ok is False:
        return classify(check.login_error) or ("unreachable" if check.connected is False
                                               else None)
    if check.login_ok is None and check.connected is False:
        return "unreachable"
    return None


def _decisive_line(text: str) -> str:
    """The line of a (multi-line) driver error that says what failed."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return next((ln for ln in lines if classify(ln)), lines[0] if lines else text)


def _check_evidence(check: DatabaseCheck) -> list[Excerpt]:
    out = []
    if check.login_ok is False and check.login_error:
        out.append(Excerpt(check.source, _decisive_line(check.login_error)))
    endpoint = f"{check.host or 'localhost'}:{check.port or 5432}"
    out.append(Excerpt(f"TCP connect to {endpoint} ({check.setting})",
                       "connected" if check.connected else check.connect_error or "not tried"))
    return out


def _from_journal(facts: Facts, unit: str, cases: dict[str, DatabaseProblem]) -> None:
    """The unit's last journal line naming a database failure, unless the database answers
    the doctor now (then it is an old line)."""
    entries = [e for e in facts.journal_of(unit) if classify(e.message)]
    if not entries:
        return
    last = entries[-1]
    kind = classify(last.message) or ""
    known = cases.get(unit)
    if known is not None:
        if known.kind == kind:
            known.evidence.insert(0, Excerpt(last.source, last.message.strip()))
            known.log_line = last.message
        return
    checks = [c for c in facts.databases or () if c.unit == unit]
    if any(c.login_ok for c in checks) or (kind == "unreachable" and any(
            c.connected and c.login_ok is None for c in checks)):
        return
    cases[unit] = DatabaseProblem(unit, kind, [Excerpt(last.source, last.message.strip())],
                                  None, [], last.message)


def _body_mentions(p: Probe) -> str | None:
    if p.kind != "http" or not p.body_head or not p.status or p.status < 500:
        return None
    text = re.sub(r"\s*\n\s*", " ", p.body_head.replace('\\"', '"')).strip()
    return text[:300] if classify(text) else None


def _from_probe(facts: Facts, p: Probe, cases: dict[str, DatabaseProblem]) -> None:
    """A 5xx body naming a database failure: evidence for the service that has it."""
    body = _body_mentions(p)
    if not body:
        return
    kind = str(classify(body))
    target = next((c for c in cases.values() if c.kind == kind), None)
    if target is None:
        unit = next((u.name for u in facts.web_units()), "the app")
        target = cases.setdefault(unit, DatabaseProblem(unit, kind, [], None))
    url = f"{p.endpoint}{p.path or '/'}"
    if url not in target.urls:
        target.urls.append(url)
        if len([e for e in target.evidence if e.source.startswith("probe ")]) < 2:
            target.evidence.append(Excerpt(p.where, f"HTTP {p.status} {body}"))
