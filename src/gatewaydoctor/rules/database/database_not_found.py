"""The database the app names does not exist."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import DatabaseProblem, Facts
from ...findings import Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Cmd, Found, Msg, Text, found, msg

EXPLAINS = ("app.startup_failed", "service.crash_loop", "service.start_limit_hit",
            "service.not_running", "upstream.unreachable", "probe.failed")
NAME_RE = re.compile(r'database "([^"]*)" does not exist')


@rule(id="GD-DBS-003", symbol="database-not-found", category="database.not_found",
      severity=Severity.ERROR, layer="system", explains=EXPLAINS,
      title=N_("The database the app names does not exist"),
      texts=Text(
          N_("{unit}: database \"{name}\" does not exist"),
          N_("{unit} asks for database \"{name}\" ({where}), and the server has no database "
             "of that name: a typo in the URL, or it was never created."),
          N_("Correct the database name in {setting} ({origin}) or create \"{name}\", then "
             "restart {unit}."),
          (Cmd("sudo -u postgres psql -lqt | cut -d'|' -f1", N_("the databases that exist")),
           Cmd("sudo -u postgres createdb -O {user} {name}",
               N_("or fix {setting} in {origin}")), "{restart}")))
def database_not_found(facts: Facts) -> Iterator[Found]:
    """`FATAL:  database "x" does not exist`: a typo in the URL, or the database never created."""
    for case in facts.database_problems():
        if case.kind != "not_found":
            continue
        c = case.check
        m = NAME_RE.search(" ".join(e.text for e in case.evidence))
        yield found(case.evidence, case.links, unit=case.unit,
                    name=m.group(1) if m else (c.dbname if c else None) or "<db>",
                    user=case.user, origin=case.origin, setting=case.setting,
                    where=_where(case),
                    restart=facts.restart_command_of(case.unit))


def _where(case: DatabaseProblem) -> Msg:
    c = case.check
    if c is None:
        return msg(N_("the database"))
    return msg(N_("{target} as user {user} ({setting} in {origin})"), target=c.target,
               user=c.user or "?", setting=c.setting, origin=c.origin)
