"""Rules about web apps run by supervisord instead of a systemd unit."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import Facts, SupervisorProgram
from ...findings import Excerpt, Fix, Hit, Link, Severity
from ...i18n import N_, _, sentences
from ..registry import rule
from .common import journal_excerpt, last_matching

GAVE_UP_RE = re.compile(r"gave up: \S+ entered FATAL state")
EXITED_RE = re.compile(r"exited: \S+ ")
STOPPED_RE = re.compile(r"stopped: \S+ ")
DOWN = ("FATAL", "STOPPED", "EXITED", "BACKOFF")


def _reason(facts: Facts, p: SupervisorProgram) -> str | None:
    """The last error the program printed (its stderr log) or the import probe reproduced."""
    tbs = facts.tracebacks_of(p.unit)
    logged = [t for t in tbs if t.origin == "journal"] or tbs
    if logged:
        return logged[-1].last_line
    probe = next((ip for ip in facts.import_probes or () if ip.unit == p.unit and ip.exc_type),
                 None)
    return f"{probe.exc_type}: {probe.exc_message}" if probe else None


@rule(id="GD-SVC-007", symbol="supervisor-program-down", category="service.not_running",
      severity=Severity.ERROR, needs=("units",), layer="unit",
      explains=("upstream.unreachable", "probe.failed"),
      title=N_("The supervisord program that runs the app is stopped, failed or restarting"))
def program_down(facts: Facts) -> Iterator[Hit]:
    """A web app's `[program:x]` is FATAL, BACKOFF, STOPPED or EXITED, or supervisord is down."""
    sup = facts.supervisor
    if sup is None:
        return  # no supervisord here: its programs would be among the units
    for p in sup.programs:
        if facts.unit(p.unit) is None:
            continue  # not a web server program
        name = p.name
        links = (Link("unit", p.unit),)
        if p.state is None:
            if not sup.status_error:
                continue
            yield Hit(
                title=_("supervisord does not answer: the state of {program} is "
                        "unknown").format(program=name),
                evidence=(Excerpt(sup.status_source, sup.status_error),),
                explanation=_(
                    "{program} is configured in {file}, but supervisorctl cannot reach "
                    "supervisord, so nothing runs the program and nginx finds nothing to "
                    "talk to.").format(program=name, file=p.config_file),
                fix=Fix(summary=_("Start supervisord (it starts {program}).").format(
                            program=name),
                        commands=("systemctl enable --now supervisor",
                                  "supervisorctl status")),
                links=links,
            )
            continue
        if p.state not in DOWN:
            continue
        evidence = [Excerpt(sup.status_source, p.status_line)]
        events = list(p.events)
        reason = _reason(facts, p)
        pattern = {"FATAL": GAVE_UP_RE, "BACKOFF": EXITED_RE}.get(p.state, STOPPED_RE)
        line = last_matching(events, pattern) or last_matching(events, EXITED_RE)
        if line is not None:
            evidence.append(journal_excerpt(line))
        tbs = facts.tracebacks_of(p.unit)
        logged = [t for t in tbs if t.origin == "journal"] or tbs
        if logged:
            evidence.append(Excerpt(logged[-1].source, logged[-1].last_line))
        crashed = p.state in ("FATAL", "BACKOFF")
        said = (_("The last error it printed: {error}").format(error=reason)
                if reason else "")
        if p.state == "FATAL":
            explanation = sentences(_(
                "{program} exited again and again right after starting, so supervisord "
                "gave up on it (FATAL) and will not start it again by itself. Nothing "
                "listens for nginx, which answers 502.").format(program=name), said)
            summary = _("Fix the error it exits with, then start it again: supervisord does "
                        "not retry a FATAL program.")
        elif p.state == "BACKOFF":
            explanation = sentences(_(
                "{program} exits right after starting and supervisord keeps retrying it "
                "(BACKOFF).").format(program=name), said)
            summary = _("Fix the error it exits with; supervisord restarts it.")
        else:
            explanation = _(
                "{program} is {state} in supervisord (stopped with supervisorctl, or it "
                "exited and autorestart is off). Nothing listens for nginx, which answers "
                "502.").format(program=name, state=p.state)
            summary = _("Start {program} with supervisorctl.").format(program=name)
        commands = []
        if crashed:
            commands.append(f"supervisorctl tail -8000 {name} stderr")
        commands.append(f"supervisorctl start {name}")
        if not p.autostart:
            commands.append(f"editor {p.config_file}   # [program:{name}] autostart=true")
        commands.append(f"supervisorctl status {name}")
        yield Hit(
            title=_("supervisor program {program} is {state}").format(program=name,
                                                                       state=p.state),
            evidence=tuple(evidence),
            explanation=explanation,
            fix=Fix(summary=summary, commands=tuple(commands)),
            links=links,
            role="symptom" if crashed and reason else "cause",
        )
