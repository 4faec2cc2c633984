"""Rules about the database behind the app: down, credentials rejected, database missing.

The signals, freshest first: the login the doctor made as the app (its driver, its
environment, its user), the TCP connect to the database's port, the app's own journal
(an OperationalError at start-up) and a health endpoint's body.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ...facts import DatabaseCheck, Facts, Probe
from ...findings import Excerpt, Fix, Hit, Link, Severity
from ...i18n import N_, _
from ..registry import rule
from .common import restart_command

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
KINDS = {"unreachable": UNREACHABLE, "auth": AUTH, "not_found": NOT_FOUND}
EXPLAINS = ("app.startup_failed", "service.crash_loop", "service.start_limit_hit",
            "service.not_running", "upstream.unreachable", "probe.failed")


def classify(text: str | None) -> str | None:
    """`not_found`, `auth` or `unreachable` for a driver's error text (None if none of them)."""
    if not text:
        return None
    for kind in ("not_found", "auth", "unreachable"):
        if KINDS[kind].search(text):
            return kind
    return None


def _decisive_line(text: str) -> str:
    """The line of a (multi-line) driver error that says what failed."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if classify(ln):
            return ln
    return lines[0] if lines else text


@dataclass
class _Case:
    unit: str
    kind: str
    evidence: list[Excerpt]
    check: DatabaseCheck | None
    urls: list[str]
    log_line: str | None


def _check_kind(check: DatabaseCheck) -> str | None:
    if check.login_ok is False:
        return classify(check.login_error) or ("unreachable" if check.connected is False
                                               else None)
    if check.login_ok is None and check.connected is False:
        return "unreachable"
    return None


def _check_evidence(check: DatabaseCheck) -> list[Excerpt]:
    out = []
    if check.login_ok is False and check.login_error:
        out.append(Excerpt(check.source, _decisive_line(check.login_error)))
    endpoint = f"{check.host or 'localhost'}:{check.port or 5432}"
    out.append(Excerpt(f"TCP connect to {endpoint} ({check.setting})",
                       "connected" if check.connected else check.connect_error or "not tried"))
    return out


def _body_mentions(p: Probe) -> str | None:
    if p.kind != "http" or not p.body_head or not p.status or p.status < 500:
        return None
    text = re.sub(r"\s*\n\s*", " ", p.body_head.replace('\\"', '"')).strip()
    return text[:300] if classify(text) else None


def _cases(facts: Facts) -> list[_Case]:
    cases: dict[str, _Case] = {}
    checked: set[str] = set()
    for check in facts.databases or ():
        checked.add(check.unit)
        kind = _check_kind(check)
        if kind is None or check.unit in cases:
            continue
        cases[check.unit] = _Case(check.unit, kind, _check_evidence(check), check, [], None)
    units = {u.name for u in facts.web_units()} | {e.unit for e in facts.journal or () if e.unit}
    for unit in sorted(units):
        entries = [e for e in facts.journal_of(unit) if classify(e.message)]
        if not entries:
            continue
        last = entries[-1]
        kind = classify(last.message)
        assert kind is not None
        if unit in cases:
            if cases[unit].kind == kind:
                cases[unit].evidence.insert(0, Excerpt(last.source, last.message.strip()))
                cases[unit].log_line = last.message
            continue
        ok_now = any(c.unit == unit and c.login_ok for c in facts.databases or ())
        if ok_now or (unit in checked and facts.databases is not None and
                      any(c.unit == unit and c.connected and c.login_ok is None
                          for c in facts.databases) and kind == "unreachable"):
            continue  # an old line: the database answers now
        cases[unit] = _Case(unit, kind, [Excerpt(last.source, last.message.strip())], None, [],
                            last.message)
    for p in facts.probes or ():
        body = _body_mentions(p)
        if not body:
            continue
        kind = classify(body)
        target = next((c for c in cases.values() if c.kind == kind), None)
        if target is None:
            units_ = [u.name for u in facts.web_units()] or ["the app"]
            target = cases.setdefault(units_[0], _Case(units_[0], str(kind), [], None, [], None))
        url = f"{p.endpoint}{p.path or '/'}"
        if url not in target.urls:
            target.urls.append(url)
            if len([e for e in target.evidence if e.source.startswith("probe ")]) < 2:
                target.evidence.append(Excerpt(f"probe {p.label}", f"HTTP {p.status} {body}"))
    return list(cases.values())


def _links(case: _Case) -> tuple[Link, ...]:
    links = [Link("unit", case.unit)]
    if case.log_line:
        links.append(Link("log", case.log_line))
    links += [Link("url", u) for u in case.urls]
    return tuple(links)


def _where(case: _Case) -> str:
    c = case.check
    if c is None:
        return _("the database")
    return _("{target} as user {user} ({setting} in {origin})").format(
        target=c.target, user=c.user or "?", setting=c.setting, origin=c.origin)


def _restart(case: _Case) -> str:
    return restart_command(case.unit)


@rule(id="GD-DBS-001", symbol="database-unreachable", category="database.unreachable",
      severity=Severity.ERROR, needs=(), layer="system", explains=EXPLAINS,
      title=N_("The app cannot reach its database"))
def unreachable(facts: Facts) -> Iterator[Hit]:
    """The database port refuses or times out, seen by the app and by the doctor."""
    for case in _cases(facts):
        if case.kind != "unreachable":
            continue
        c = case.check
        host, port = (c.host or "localhost", c.port or 5432) if c else ("<db host>", 5432)
        local = host in ("localhost", "127.0.0.1", "::1") or host.startswith("/")
        commands = (["systemctl status 'postgresql*' --no-pager", "systemctl start postgresql",
                     f"pg_isready -h {host} -p {port}"] if local else
                    [f"pg_isready -h {host} -p {port}",
                     "# " + _("on {host}: systemctl start postgresql; listen_addresses and the "
                              "firewall must let this host reach port {port}").format(
                                  host=host, port=port)])
        commands.append(_restart(case))
        yield Hit(
            title=_("{unit}: the database at {address} refuses connections").format(
                unit=case.unit, address=f"{host}:{port}"),
            evidence=tuple(case.evidence),
            explanation=_(
                "{unit} connects to {where}, and nothing accepts the connection "
                "there: PostgreSQL is stopped, listens elsewhere, or is out of reach. Requests "
                "that need the database fail (a health check answers 503; an app that checks "
                "at start-up exits and restarts, so nginx answers 502)."
            ).format(unit=case.unit, where=_where(case)),
            fix=Fix(summary=_("Start PostgreSQL (or make {address} reachable), then restart "
                              "{unit}.").format(address=f"{host}:{port}", unit=case.unit),
                    commands=tuple(commands)),
            links=_links(case),
        )


@rule(id="GD-DBS-002", symbol="database-auth-failed", category="database.auth_failed",
      severity=Severity.ERROR, needs=(), layer="system", explains=EXPLAINS,
      title=N_("The database rejects the app's credentials"))
def auth_failed(facts: Facts) -> Iterator[Hit]:
    """`FATAL:  password authentication failed` (or pg_hba/peer) for the app's user."""
    for case in _cases(facts):
        if case.kind != "auth":
            continue
        c = case.check
        user = (c.user if c else None) or "<user>"
        origin = c.origin if c else "the app's .env"
        setting = c.setting if c else "POSTGRES_URL"
        text = " ".join(e.text for e in case.evidence)
        hba = "pg_hba.conf" in text or "Peer authentication" in text
        commands = [f"grep -n '^{setting}=' {origin}   # "
                    + _("the password the app uses; keep it out of tickets and chats")]
        if hba:
            commands.append("# " + _("add a matching `{line}` line to pg_hba.conf, then: "
                                     "systemctl reload postgresql").format(
                line="host <db> <user> 127.0.0.1/32 scram-sha-256"))
        else:
            commands.append(f"sudo -u postgres psql -c \"ALTER ROLE {user} PASSWORD "
                            f"'<the password in {setting}>'\"   # "
                            + _("or correct {setting} in {origin}").format(
                                setting=setting, origin=origin))
        commands.append(_restart(case))
        yield Hit(
            title=(_("{unit}: PostgreSQL rejects user \"{user}\" (pg_hba.conf)") if hba else
                   _("{unit}: PostgreSQL rejects user \"{user}\" (wrong password)")).format(
                       unit=case.unit, user=user),
            evidence=tuple(case.evidence),
            explanation=_(
                "{unit} logs in to {where} and the server refuses the "
                "credentials: the password in the app's setting does not match the role's "
                "(or pg_hba.conf has no rule for this client)."
            ).format(unit=case.unit, where=_where(case)),
            fix=Fix(summary=_("Make the password in {setting} ({origin}) and the role "
                              "{user}'s password agree, then restart {unit}.").format(
                                  setting=setting, origin=origin, user=user, unit=case.unit),
                    commands=tuple(commands)),
            links=_links(case),
        )


@rule(id="GD-DBS-003", symbol="database-not-found", category="database.not_found",
      severity=Severity.ERROR, needs=(), layer="system", explains=EXPLAINS,
      title=N_("The database the app names does not exist"))
def not_found(facts: Facts) -> Iterator[Hit]:
    """`FATAL:  database "x" does not exist`: a typo in the URL, or the database never created."""
    for case in _cases(facts):
        if case.kind != "not_found":
            continue
        c = case.check
        text = " ".join(e.text for e in case.evidence)
        m = re.search(r'database "([^"]*)" does not exist', text)
        name = m.group(1) if m else (c.dbname if c else None) or "<db>"
        user = (c.user if c else None) or "<user>"
        origin = c.origin if c else "the app's .env"
        setting = c.setting if c else "POSTGRES_URL"
        yield Hit(
            title=_("{unit}: database \"{name}\" does not exist").format(
                unit=case.unit, name=name),
            evidence=tuple(case.evidence),
            explanation=_(
                "{unit} asks for database \"{name}\" ({where}), and the server has "
                "no database of that name: a typo in the URL, or it was never created."
            ).format(unit=case.unit, name=name, where=_where(case)),
            fix=Fix(summary=_("Correct the database name in {setting} ({origin}) or create "
                              "\"{name}\", then restart {unit}.").format(
                                  setting=setting, origin=origin, name=name, unit=case.unit),
                    commands=("sudo -u postgres psql -lqt | cut -d'|' -f1   # "
                              + _("the databases that exist"),
                              f"sudo -u postgres createdb -O {user} {name}   # "
                              + _("or fix {setting} in {origin}").format(
                                  setting=setting, origin=origin),
                              _restart(case))),
            links=_links(case),
        )
