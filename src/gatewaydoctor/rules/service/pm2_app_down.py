"""The pm2 app that runs the web server is stopped, errored or restarting."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import Facts, JournalEntry, Pm2App, Pm2State, Unit, last_matching
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Text, found

# What pm2.log says about an app (lib/God/ActionMethods.js, lib/God.js).
GAVE_UP_RE = re.compile(r"had too many unstable restarts")
EXITED_RE = re.compile(r"\] exited with code \[")
STOPPED_RE = re.compile(r"Stopping app:|\] exited with code \[0\]")
# pm2's statuses of an app that does not serve (`online` does).
CRASHED = ("errored", "waiting restart", "launching")
DOWN = ("stopped", "stopping", "one-launch-status", *CRASHED)

TITLE = N_("pm2 app {program} is {state}")
SAID = N_("The last error it printed: {error}")
CRASH_FIX = ("{logs}", "{restart}", "{status}")


@rule(id="GD-SVC-008", symbol="pm2-app-down", category="service.not_running",
      severity=Severity.ERROR, layer="unit",
      explains=("upstream.unreachable", "probe.failed"),
      title=N_("The pm2 app that runs the web server is stopped, errored or restarting"),
      texts={
          "default": Text(
              title=TITLE,
              explanation=N_(
                  "{program} is {state} in pm2 (stopped with `pm2 stop`, or it exited and "
                  "autorestart is off). Nothing listens for nginx, which answers 502."),
              fix=N_("Start {program} with pm2, and save pm2's list so that it comes back "
                     "after a reboot."),
              commands=("{start}", "{save}", "{status}")),
          "errored": Text(
              title=TITLE,
              explanation=(N_(
                  "{program} exited again and again right after starting ({restarts} "
                  "restarts), so pm2 gave up on it (errored) and will not start it again by "
                  "itself. Nothing listens for nginx, which answers 502."), SAID),
              fix=N_("Fix the error it exits with, then restart it: pm2 does not retry an "
                     "errored app."),
              commands=CRASH_FIX),
          "node": Text(
              title=N_("pm2 app {program} is {state}: pm2 runs the Python program {script} "
                       "with {interpreter}"),
              explanation=N_(
                  "pm2 starts {script} with {interpreter}, not Python: pm2 picks Node for a "
                  "script it does not know by its extension (`pm2 start uvicorn -- ...` without "
                  "--interpreter), so the program fails on its first line and never serves. "
                  "Nothing listens for nginx, which answers 502."),
              fix=N_("Start it again with no interpreter (the script's own #! line runs its "
                     "Python), then save pm2's list."),
              commands=("{delete}", "{start}", "{save}")),
          "restarting": Text(
              title=TITLE,
              explanation=(N_("{program} exits right after starting and pm2 keeps "
                              "restarting it ({restarts} restarts so far)."), SAID),
              fix=N_("Fix the error it exits with; pm2 restarts it."),
              commands=CRASH_FIX),
      })
def pm2_app_down(facts: Facts, units: tuple[Unit, ...],
                 pm2: Pm2State | None = None) -> Iterator[Found]:
    """A web app pm2 runs is errored, stopped or between two crashes."""
    for app in pm2.apps if pm2 is not None else ():
        service = facts.unit(app.unit)
        if service is None or app.status not in DOWN:
            continue  # not a web server app, online, or its state is not known
        yield _down(facts, service, app)


def _down(facts: Facts, u: Unit, app: Pm2App) -> Found:
    """An app that does not serve, what it logged, and why it exits if it said."""
    logged = facts.logged_traceback(u.name)
    reason = logged.last_line if logged else facts.probe_error(u.name)
    crashed = app.status in CRASHED
    line = _event(app)
    evidence = [u.state_excerpt, *([line.excerpt] if line else []),
                *([] if logged and logged.origin == "journal" else _last_error_line(facts, u)),
                *([Excerpt(logged.source, logged.last_line)] if logged else [])]
    text = "errored" if app.status == "errored" else "restarting" if crashed else "default"
    if app.python_argv:
        return _under_node(u, app, evidence)
    return found(evidence, [Link("unit", u.name)], text=text,
                 role="symptom" if crashed and reason else "cause",
                 program=app.name, state=app.status, error=reason, restarts=app.restarts,
                 logs=u.logs_command(50), restart=u.restart_command, status=u.status_command,
                 start=f"{u.control}pm2 start {app.name}", save=f"{u.control}pm2 save")


def _under_node(u: Unit, app: Pm2App, evidence: list[Excerpt]) -> Found:
    """A Python program pm2 runs with Node: the interpreter is the cause, whatever it printed."""
    script, args = app.python_argv[0], " ".join(app.python_argv[1:])
    start = (f"cd {u.working_directory or '.'} && {u.control}pm2 start {script} --name "
             f"{app.name} --interpreter none" + (f" -- {args}" if args else ""))
    evidence.insert(1, Excerpt(app.source, f"exec_interpreter={app.interpreter} "
                               f"pm_exec_path={script}: a Python program"))
    return found(evidence, [Link("unit", u.name)], text="node", role="cause",
                 program=app.name, state=app.status, script=script,
                 interpreter=app.interpreter, delete=f"{u.control}pm2 delete {app.name}",
                 start=start, save=f"{u.control}pm2 save")


def _event(app: Pm2App) -> JournalEntry | None:
    """pm2.log's own line about the app's state (else its last `exited with code`)."""
    events = list(app.events)
    pattern = GAVE_UP_RE if app.status == "errored" else (
        EXITED_RE if app.status in CRASHED else STOPPED_RE)
    return last_matching(events, pattern) or last_matching(events, EXITED_RE)


def _last_error_line(facts: Facts, u: Unit) -> list[Excerpt]:
    """The app's last error line in its logs, when it printed no traceback."""
    errors = [e for e in facts.journal_of(u.name) if "error" in e.message.lower()]
    return [errors[-1].excerpt] if errors else []
