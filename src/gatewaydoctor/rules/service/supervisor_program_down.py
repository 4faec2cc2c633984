"""The supervisord program that runs the app is stopped, failed or restarting."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import (
    Facts,
    JournalEntry,
    SupervisorProgram,
    SupervisorState,
    Unit,
    last_matching,
)
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Text, found

# What supervisord.log says about a program.
GAVE_UP_RE = re.compile(r"gave up: \S+ entered FATAL state")
EXITED_RE = re.compile(r"exited: \S+ ")
STOPPED_RE = re.compile(r"stopped: \S+ ")
DOWN = ("FATAL", "STOPPED", "EXITED", "BACKOFF")

TITLE = N_("supervisor program {program} is {state}")
SAID = N_("The last error it printed: {error}")
START = ("supervisorctl start {program}", "editor {config}   # [program:{program}] autostart=true",
         "supervisorctl status {program}")
CRASHED = ("supervisorctl tail -8000 {program} stderr", *START)


@rule(id="GD-SVC-007", symbol="supervisor-program-down", category="service.not_running",
      severity=Severity.ERROR, layer="unit",
      explains=("upstream.unreachable", "probe.failed"),
      title=N_("The supervisord program that runs the app is stopped, failed or restarting"),
      texts={
          "default": Text(
              title=TITLE,
              explanation=N_(
                  "{program} is {state} in supervisord (stopped with supervisorctl, or it "
                  "exited and autorestart is off). Nothing listens for nginx, which answers "
                  "502."),
              fix=N_("Start {program} with supervisorctl."),
              commands=START),
          "fatal": Text(
              title=TITLE,
              explanation=(N_(
                  "{program} exited again and again right after starting, so supervisord "
                  "gave up on it (FATAL) and will not start it again by itself. Nothing "
                  "listens for nginx, which answers 502."), SAID),
              fix=N_("Fix the error it exits with, then start it again: supervisord does "
                     "not retry a FATAL program."),
              commands=CRASHED),
          "backoff": Text(
              title=TITLE,
              explanation=(N_("{program} exits right after starting and supervisord keeps "
                              "retrying it (BACKOFF)."), SAID),
              fix=N_("Fix the error it exits with; supervisord restarts it."),
              commands=CRASHED),
          "unreachable": Text(
              title=N_("supervisord does not answer: the state of {program} is unknown"),
              explanation=N_(
                  "{program} is configured in {file}, but supervisorctl cannot reach "
                  "supervisord, so nothing runs the program and nginx finds nothing to "
                  "talk to."),
              fix=N_("Start supervisord (it starts {program})."),
              commands=("systemctl enable --now supervisor", "supervisorctl status")),
      })
def supervisor_program_down(facts: Facts, units: tuple[Unit, ...],
                            supervisor: SupervisorState | None = None) -> Iterator[Found]:
    """A web app's `[program:x]` is FATAL, BACKOFF, STOPPED or EXITED, or supervisord is down."""
    if supervisor is None:
        return  # no supervisord here: its programs would be among the units
    for p in supervisor.programs:
        if facts.unit(p.unit) is None:
            continue  # not a web server program
        if p.state is None and supervisor.status_error:
            yield found([Excerpt(supervisor.status_source, supervisor.status_error)],
                        [Link("unit", p.unit)], text="unreachable",
                        program=p.name, file=p.config_file)
        elif p.state in DOWN:
            yield _down(facts, supervisor, p, p.state)


def _down(facts: Facts, sup: SupervisorState, p: SupervisorProgram, state: str) -> Found:
    """A program that is not running, what it logged, and why it exits if it said."""
    logged = facts.logged_traceback(p.unit)
    reason = logged.last_line if logged else facts.probe_error(p.unit)
    crashed = state in ("FATAL", "BACKOFF")
    evidence = [Excerpt(sup.status_source, p.status_line),
                *([line.excerpt] if (line := _event(p, state)) else []),
                *([Excerpt(logged.source, logged.last_line)] if logged else [])]
    return found(evidence, [Link("unit", p.unit)],
                 text=state.lower() if crashed else "default",
                 role="symptom" if crashed and reason else "cause",
                 program=p.name, state=state, error=reason,
                 config=None if p.autostart else p.config_file)


def _event(p: SupervisorProgram, state: str) -> JournalEntry | None:
    """supervisord's own line about the program's state (else its last `exited:`)."""
    events = list(p.events)
    pattern = {"FATAL": GAVE_UP_RE, "BACKOFF": EXITED_RE}.get(state, STOPPED_RE)
    return last_matching(events, pattern) or last_matching(events, EXITED_RE)
