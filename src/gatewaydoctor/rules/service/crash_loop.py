"""The service restarts again and again: Restart= keeps starting a process that exits."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import EXITED_RE, RESTART_RE, Facts, ImportProbe, JournalEntry, Unit, last_matching
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Msg, Text, found, msg

LOOP = N_("{unit} exits soon after each start and Restart= starts it again, so it never "
          "listens for long and nginx gets `connection refused`.")


@rule(id="GD-SVC-002", symbol="crash-loop", category="service.crash_loop",
      severity=Severity.ERROR, layer="unit", role="symptom",
      title=N_("The service restarts again and again"),
      texts={
          "default": Text(
              title=N_("{unit} is in a restart loop ({count})"),
              explanation=(LOOP, N_("The last error it printed: {error}"),
                           N_("systemd says: {message}")),
              fix=N_("Fix the error the process exits with (see the cause above); the loop "
                     "stops by itself once the app starts."),
              commands=("{logs}",)),
          "unexplained": Text(
              title=N_("{unit} is in a restart loop ({count}), exiting without a reason in its "
                       "logs"),
              explanation=(LOOP, N_("The process exits with status {status} and its logs do "
                                    "not say why: no traceback, no error line.")),
              fix=N_("Run the service's command by hand, as its user, in its WorkingDirectory, "
                     "to see why it exits (look for sys.exit()/os._exit() or a wrapper script "
                     "that exits non-zero), then restart it."),
              commands=("{logs}", "systemctl cat {unit}",
                        "cd {workdir} && sudo -u {user} {argv}; echo exit=$?")),
      })
def crash_loop(facts: Facts, units: tuple[Unit, ...]) -> Iterator[Found]:
    """Restart= keeps restarting a unit whose main process exits.

    A symptom when the logs name the reason (another rule names it); the root cause
    as far as can be told when the process exits without saying why.
    """
    for u in facts.gateway_units():
        if not facts.crash_looping(u):
            continue
        known = facts.reason_known(u)
        entries = facts.journal_of(u.name)
        lines = _exit_and_restart(entries)
        evidence = [u.state_excerpt, *(e.excerpt for e in lines)]
        if not known:
            evidence += _unexplained(facts, u)
        error, exited = facts.exit_reason(u)
        yield found(evidence, [Link("unit", u.name)],
                    text="default" if known else "unexplained",
                    role="symptom" if known else "cause",
                    unit=u.name, count=_count(u, lines), error=error, message=exited,
                    status=_status(entries), **_commands(u, known))


def _exit_and_restart(entries: list[JournalEntry]) -> list[JournalEntry]:
    """systemd's last `Main process exited` and `Scheduled restart job` lines."""
    lines = (last_matching(entries, EXITED_RE), last_matching(entries, RESTART_RE))
    return [e for e in lines if e is not None]


def _commands(u: Unit, known: bool) -> dict[str, str]:
    """What the fix commands name: the logs, and how to run the command by hand."""
    return {"logs": u.logs_command(80, "" if known else "-o cat"),
            "workdir": u.working_directory or "/", "user": u.user or "root",
            "argv": " ".join(u.exec_start[0]) if u.exec_start else "<ExecStart>"}


def _count(u: Unit, lines: list[JournalEntry]) -> Msg:
    """How many restarts so far: systemd's count, or its restart counter if higher."""
    counters = [int(m.group(1)) for e in lines if (m := RESTART_RE.search(e.message))]
    restarts = max([u.n_restarts, *counters])
    return msg(N_("{n} restarts"), n=restarts) if restarts else msg(N_("waiting to restart"))


def _status(entries: list[JournalEntry]) -> str:
    """The exit status of the last `Main process exited` line."""
    exited = last_matching(entries, EXITED_RE)
    status = EXITED_RE.search(exited.message) if exited else None
    return status.group(2) if status else "?"


def _unexplained(facts: Facts, u: Unit) -> list[Excerpt]:
    """What the process printed before it exited, and what importing the app by hand did."""
    output = [e for e in facts.since_last_start(u.name) if e.identifier != "systemd"]
    evidence = [e.excerpt for e in output[-3:]] or [
        Excerpt(f"journalctl -u {u.name}", "(the process printed nothing before it exited)")]
    probe = next((p for p in facts.import_probes or () if p.unit == u.name and _silent(p)), None)
    return evidence + ([_probe_excerpt(probe)] if probe else [])


def _silent(p: ImportProbe) -> bool:
    """The import failed without a Python exception (a sys.exit() or a crash)."""
    return not p.ok and p.exc_type is None and p.rc not in (None, 0)


def _probe_excerpt(p: ImportProbe) -> Excerpt:
    lines = p.stderr.strip().splitlines()
    said = f"printed: {lines[-1]}" if lines else "printed nothing"
    return Excerpt(p.source, f"importing {p.module}:{p.attr} exited with status {p.rc}; "
                   f"it {said}")
