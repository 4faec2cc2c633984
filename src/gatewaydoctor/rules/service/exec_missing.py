"""systemd cannot exec the service's command (status=203/EXEC)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...categories import LOOP_SYMPTOMS
from ...facts import Facts, JournalEntry, PythonInfo, Unit, last_matching
from ...facts.signatures import EXEC_DENIED_RE
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Cmd, Found, Text, found

STATUS_RE = re.compile(r"status=203/EXEC\b")
EXEC_FAIL_RE = re.compile(r"Failed (?:to locate executable|at step EXEC spawning) (\S+?):? ")


@rule(id="GD-SVC-004", symbol="exec-missing", category="service.exec_missing",
      severity=Severity.ERROR, layer="unit",
      explains=LOOP_SYMPTOMS + ("app.startup_failed",),
      title=N_("ExecStart names a program that does not exist (status=203/EXEC)"),
      texts=Text(
          title=N_("{unit}: cannot execute {program} (status=203/EXEC)"),
          explanation=N_(
              "systemd could not start {program} for {unit}: the file (or the interpreter "
              "its #! line names) does not exist (203/EXEC is systemd's own exit code, the "
              "app never ran). Typically the virtualenv was moved, deleted or recreated "
              "elsewhere."),
          fix=N_("Point ExecStart= at the interpreter that exists, or recreate the "
                 "virtualenv at {venv}; then daemon-reload and restart."),
          commands=("ls -l {program}",
                    "python3 -m venv {venv_dir} && {venv_dir}/bin/pip install -r "
                    "{workdir}/requirements.txt",
                    Cmd("systemctl edit --full {unit}", N_("or fix ExecStart=")),
                    "systemctl daemon-reload && {restart}")))
def exec_missing(facts: Facts, units: tuple[Unit, ...],
                 pythons: tuple[PythonInfo, ...] = ()) -> Iterator[Found]:
    """systemd cannot exec the unit's command: a venv moved, a path mistyped, not executable."""
    for u in _failing(facts):
        entries = facts.journal_of(u.name)
        line = last_matching(entries, STATUS_RE)
        if line is None and u.exec_main_status != 203:
            continue
        detail = last_matching(entries, EXEC_FAIL_RE)
        if detail is not None and EXEC_DENIED_RE.search(detail.message):
            continue  # the file is there: its mode is the cause (exec-denied)
        program = _program(u, detail)
        venv = program.rsplit("/bin/", 1)[0] if "/bin/" in program else None
        yield found(_evidence(u, line, detail, pythons),
                    [Link("unit", u.name), Link("log", line.message if line else program)],
                    unit=u.name, program=program, venv=venv or program, venv_dir=venv,
                    workdir=u.working_directory or ".", restart=u.restart_command)


def _failing(facts: Facts) -> list[Unit]:
    """The gateway units still failing: one running since has been exec'd after the line."""
    return [u for u in facts.gateway_units() if facts.failing(u)]


def _program(u: Unit, detail: JournalEntry | None) -> str:
    """The program systemd failed to exec: as its log line names it, else ExecStart's."""
    m = EXEC_FAIL_RE.search(detail.message) if detail else None
    if m:
        return m.group(1)
    return u.exec_start[0][0] if u.exec_start and u.exec_start[0] else "?"


def _evidence(u: Unit, line: JournalEntry | None, detail: JournalEntry | None,
              pythons: tuple[PythonInfo, ...]) -> list[Excerpt]:
    """The 203/EXEC line (else the unit's state), systemd's detail, ExecStart, the
    interpreter's own error."""
    return [line.excerpt if line else u.state_excerpt,
            *([detail.excerpt] if detail else []),
            Excerpt(u.source, f"ExecStart={' '.join(u.exec_start[0])}"
                    if u.exec_start else "ExecStart=?"),
            *(Excerpt(f"python.version:{u.name}", p.error) for p in pythons
              if p.unit == u.name and p.error)]
