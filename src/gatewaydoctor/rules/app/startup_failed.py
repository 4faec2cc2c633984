"""The app was imported, then raised in a startup/lifespan handler, and the server exited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ...categories import LOOP_SYMPTOMS
from ...facts import Facts, JournalEntry, Traceback, Unit, last_matching
from ...findings import Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Text, found, msg

# uvicorn lifespan/on.py, gunicorn arbiter.py, hypercorn utils.py LifespanFailureError.
STARTUP_FAILED_RE = re.compile(r"Application startup failed|Worker failed to boot|"
                               r"Lifespan failure in startup")

_TITLE = N_("{unit}: application startup failed: {raised}")


@rule(id="GD-APP-004", symbol="startup-failed", category="app.startup_failed",
      severity=Severity.ERROR, layer="app", explains=LOOP_SYMPTOMS,
      title=N_("The app raised during startup (lifespan/startup handler) and exited"),
      texts={
          "default": Text(
              title=_TITLE,
              explanation=N_(
                  "The app in {unit} was imported, then a startup/lifespan handler raised "
                  "({raised}), so {server} exits before listening and {restarts}."),
              fix=N_("Fix what the startup handler raised, then restart the service."),
              commands=("{logs}", "{restart}")),
          # The traceback names the line of the app that raised.
          "located": Text(
              title=_TITLE,
              explanation=N_(
                  "The app in {unit} was imported, then a startup/lifespan handler raised "
                  "({raised}) at {where}, so {server} exits before listening and "
                  "{restarts}."),
              fix=N_("Fix what the startup handler raised ({where}: `{code}`), then "
                     "restart the service."),
              commands=("{logs}", "sed -n '1,{line_no}p' {file} | tail -20", "{restart}")),
      })
def startup_failed(facts: Facts, units: tuple[Unit, ...],
                   journal: tuple[JournalEntry, ...]) -> Iterator[Found]:
    """uvicorn's `Application startup failed. Exiting.` (gunicorn: `Worker failed to boot`)."""
    for unit in facts.web_units():
        line = last_matching(facts.since_last_start(unit.name), STARTUP_FAILED_RE)
        if line is None or not facts.failing(unit):
            continue
        tb = _raised(facts, unit, line)
        yield found([line.excerpt, *(tb.excerpts if tb else ())],
                    [Link("unit", unit.name), Link("log", tb.last_line if tb else line.message)],
                    unit=unit.name, server=unit.server,
                    raised=tb.last_line if tb else msg(N_("an exception (see the journal)")),
                    logs=unit.logs_command(80, "-o cat"),
                    **_located(tb))


def _located(tb: Traceback | None) -> dict[str, Any]:
    """The app's line that raised, when the traceback shows it: its own text tells it."""
    where = tb.frame_excerpt if tb else None
    if where is None:
        return {}
    file, _colon, line_no = where.source.rpartition(":")
    return dict(text="located", where=where.source, code=where.text, file=file,
                line_no=line_no)


def _raised(facts: Facts, unit: Unit, line: JournalEntry) -> Traceback | None:
    """The newest traceback the app logged up to its `startup failed` line."""
    tbs = [t for t in facts.tracebacks_of(unit.name)
           if t.origin == "journal" and (t.time or 0) <= (line.time or 0)]
    return tbs[-1] if tbs else None
