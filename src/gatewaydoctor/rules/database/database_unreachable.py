"""The app cannot reach its database: the port refuses or times out."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import DatabaseProblem, Facts
from ...findings import Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Cmd, Found, Msg, Text, found, msg

EXPLAINS = ("app.startup_failed", "service.crash_loop", "service.start_limit_hit",
            "service.not_running", "upstream.unreachable", "probe.failed")
TITLE = N_("{unit}: the database at {address} refuses connections")
EXPLANATION = N_(
    "{unit} connects to {where}, and nothing accepts the connection there: PostgreSQL is "
    "stopped, listens elsewhere, or is out of reach. Requests that need the database fail (a "
    "health check answers 503; an app that checks at start-up exits and restarts, so nginx "
    "answers 502).")
FIX = N_("Start PostgreSQL (or make {address} reachable), then restart {unit}.")


@rule(id="GD-DBS-001", symbol="database-unreachable", category="database.unreachable",
      severity=Severity.ERROR, layer="system", explains=EXPLAINS,
      title=N_("The app cannot reach its database"),
      texts={"default": Text(TITLE, EXPLANATION, FIX, (
          "systemctl status 'postgresql*' --no-pager", "systemctl start postgresql",
          "pg_isready -h {host} -p {port}", "{restart}")),
          "remote": Text(TITLE, EXPLANATION, FIX, (
              "pg_isready -h {host} -p {port}",
              Cmd("", N_("on {host}: systemctl start postgresql; listen_addresses and the "
                         "firewall must let this host reach port {port}")), "{restart}"))})
def database_unreachable(facts: Facts) -> Iterator[Found]:
    """The database port refuses or times out, seen by the app and by the doctor."""
    for case in facts.database_problems():
        if case.kind != "unreachable":
            continue
        c = case.check
        host, port = (c.host or "localhost", c.port or 5432) if c else ("<db host>", 5432)
        local = host in ("localhost", "127.0.0.1", "::1") or host.startswith("/")
        yield found(case.evidence, case.links, text="default" if local else "remote",
                    unit=case.unit, host=host, port=port, address=f"{host}:{port}",
                    where=_where(case), restart=facts.restart_command_of(case.unit))


def _where(case: DatabaseProblem) -> Msg:
    c = case.check
    if c is None:
        return msg(N_("the database"))
    return msg(N_("{target} as user {user} ({setting} in {origin})"), target=c.target,
               user=c.user or "?", setting=c.setting, origin=c.origin)
