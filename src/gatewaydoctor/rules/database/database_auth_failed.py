"""The database rejects the app's credentials (wrong password, or no pg_hba.conf rule)."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import DatabaseProblem, Facts
from ...findings import Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Cmd, Found, Msg, Text, found, msg

EXPLAINS = ("app.startup_failed", "service.crash_loop", "service.start_limit_hit",
            "service.not_running", "upstream.unreachable", "probe.failed")
EXPLANATION = N_(
    "{unit} logs in to {where} and the server refuses the credentials: the password in the "
    "app's setting does not match the role's (or pg_hba.conf has no rule for this client).")
FIX = N_("Make the password in {setting} ({origin}) and the role {user}'s password agree, then "
         "restart {unit}.")
SHOW = Cmd("grep -n '^{setting}=' {origin}",
           N_("the password the app uses; keep it out of tickets and chats"))


@rule(id="GD-DBS-002", symbol="database-auth-failed", category="database.auth_failed",
      severity=Severity.ERROR, layer="system", explains=EXPLAINS,
      title=N_("The database rejects the app's credentials"),
      texts={"default": Text(
          N_("{unit}: PostgreSQL rejects user \"{user}\" (wrong password)"), EXPLANATION, FIX, (
              SHOW, Cmd("sudo -u postgres psql -c \"ALTER ROLE {user} PASSWORD '<the password "
                        "in {setting}>'\"", N_("or correct {setting} in {origin}")),
              "{restart}")),
          "hba": Text(N_("{unit}: PostgreSQL rejects user \"{user}\" (pg_hba.conf)"),
                      EXPLANATION, FIX, (
              SHOW, Cmd("", N_("add a matching `{line}` line to pg_hba.conf, then: systemctl "
                               "reload postgresql")), "{restart}"))})
def database_auth_failed(facts: Facts) -> Iterator[Found]:
    """`FATAL:  password authentication failed` (or pg_hba/peer) for the app's user."""
    for case in facts.database_problems():
        if case.kind != "auth":
            continue
        text = " ".join(e.text for e in case.evidence)
        hba = "pg_hba.conf" in text or "Peer authentication" in text
        yield found(case.evidence, case.links, text="hba" if hba else "default",
                    unit=case.unit, user=case.user, origin=case.origin,
                    setting=case.setting, where=_where(case),
                    line="host <db> <user> 127.0.0.1/32 scram-sha-256",
                    restart=facts.restart_command_of(case.unit))


def _where(case: DatabaseProblem) -> Msg:
    c = case.check
    if c is None:
        return msg(N_("the database"))
    return msg(N_("{target} as user {user} ({setting} in {origin})"), target=c.target,
               user=c.user or "?", setting=c.setting, origin=c.origin)
