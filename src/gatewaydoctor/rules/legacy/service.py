"""Rules about the systemd service: stopped, failed, restarting, given up, unable to start."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import Facts, JournalEntry, Unit, UnitFileText
from ...findings import Excerpt, Fix, Hit, Link, Severity
from ...i18n import N_, _
from ..registry import rule
from .common import EXITED_RE, RESTART_RE, journal_excerpt, last_matching

# What a cause that stops the service from staying up explains (used by every cause rule).
LOOP_SYMPTOMS = ("service.crash_loop", "service.start_limit_hit", "service.not_running")
START_LIMIT_RE = re.compile(r"Start request repeated too quickly")
# systemd's own exit codes (200..243) say the process never ran the app: exec(), chdir(), ...
SYSTEMD_EXIT_RE = re.compile(r"status=2(?:[0-3]\d|4[0-3])/[A-Z_]+")
# A line of the app's own output that says something went wrong.
APP_ERROR_RE = re.compile(r"error|exception|failed|denied|fatal|critical|killed|refused",
                          re.IGNORECASE)
# systemd lines that name a reason (not the bare `Failed with result`/`Failed to start`).
SYSTEMD_REASON_RE = re.compile(r"Failed to (?!start )|Failed at step|status=\d+/KILL|"
                               r"Main process exited, code=(?:killed|dumped)")


def _relevant(facts: Facts) -> list[Unit]:
    # supervisor programs (`supervisor:<name>`) have their own rule (rules/supervisor.py).
    return [u for u in facts.units or () if (u.is_web_app or u.name.startswith("nginx"))
            and not u.name.startswith("supervisor:")]


def state_line(u: Unit) -> Excerpt:
    """The unit's state as `systemctl show` reports it."""
    text = (f"ActiveState={u.active_state} SubState={u.sub_state} Result={u.result} "
            f"NRestarts={u.n_restarts} ExecMainStatus={u.exec_main_status} "
            f"UnitFileState={u.unit_file_state}")
    return Excerpt(u.source, text)


def since_last_start(facts: Facts, unit: str) -> list[JournalEntry]:
    """The unit's journal from its last `Started`/`Starting` line on (else its last 30 lines).

    In a restart loop that is the last attempt, up to its exit.
    """
    entries = facts.journal_of(unit)
    for i in range(len(entries) - 1, -1, -1):
        msg = entries[i].message
        if entries[i].identifier == "systemd" and (msg.startswith("Started ") or
                                                   msg.startswith("Starting ")):
            return entries[i:]
    return entries[-30:]


def _underlying(facts: Facts, u: Unit) -> str:
    tbs = facts.tracebacks_of(u.name)
    if tbs:
        return _("The last error it printed: {error}").format(error=tbs[-1].last_line)
    exited = last_matching(facts.journal_of(u.name), EXITED_RE)
    if exited:
        return _("systemd says: {message}").format(message=exited.message)
    return ""


def reason_known(facts: Facts, u: Unit) -> bool:
    """Tell whether the unit's logs or the import probe say why it exits."""
    if facts.tracebacks_of(u.name):
        return True
    if u.exec_main_code in (2, 3) or (u.exec_main_status is not None and
                                      200 <= u.exec_main_status <= 243):
        return True
    for e in since_last_start(facts, u.name):
        if e.identifier == "systemd":
            if SYSTEMD_REASON_RE.search(e.message) or SYSTEMD_EXIT_RE.search(e.message):
                return True
        elif APP_ERROR_RE.search(e.message):
            return True
    return any(p.unit == u.name and p.exc_type for p in facts.import_probes or ())


def crash_looping(facts: Facts, u: Unit) -> bool:
    """Restarting again and again: auto-restart now, or restarts still being scheduled."""
    if u.sub_state == "auto-restart":
        return True
    if u.active_state in ("inactive", "failed") or u.n_restarts < 2:
        return False
    entries = facts.journal_of(u.name)
    systemd_lines = [e for e in entries if EXITED_RE.search(e.message) or
                     RESTART_RE.search(e.message) or "Started " in e.message]
    # Type=simple units read as active/running for the instant between start and crash;
    # the journal tells whether the last thing that happened was a crash.
    return bool(systemd_lines) and not systemd_lines[-1].message.lstrip().startswith("Started")


def failing(facts: Facts, u: Unit | None) -> bool:
    """Tell whether a unit is down or restarting (an unknown unit counts as failing)."""
    if u is None:
        return True
    return not (u.active_state == "active" and u.sub_state == "running") or \
        crash_looping(facts, u)


def gave_up(facts: Facts, u: Unit) -> JournalEntry | None:
    """systemd's `Start request repeated too quickly`, if it is the unit's latest word."""
    if u.active_state != "failed" and u.result != "start-limit-hit":
        return None
    entries = facts.journal_of(u.name)
    hit = last_matching(entries, START_LIMIT_RE)
    if hit is None:
        return None
    later_start = any(e.identifier == "systemd" and e.message.startswith("Started ")
                      and (e.time or 0) > (hit.time or 0) for e in entries)
    return None if later_start else hit


def _app_output(facts: Facts, u: Unit, limit: int = 3) -> list[Excerpt]:
    lines = [e for e in since_last_start(facts, u.name) if e.identifier != "systemd"]
    return [journal_excerpt(e) for e in lines[-limit:]]


def _silent_probe(facts: Facts, u: Unit) -> Excerpt | None:
    for p in facts.import_probes or ():
        if p.unit == u.name and not p.ok and p.exc_type is None and p.rc not in (None, 0):
            said = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "printed nothing"
            return Excerpt(p.source, f"importing {p.module}:{p.attr} exited with status {p.rc}; "
                           f"it {said if said == 'printed nothing' else 'printed: ' + said}")
    return None


EXEC_FAIL_RE = re.compile(r"Failed (?:to locate executable|at step EXEC spawning) (\S+?):? ")


def _exit_code_line(facts: Facts, u: Unit, code: str) -> JournalEntry | None:
    return last_matching(facts.journal_of(u.name), re.compile(rf"status={code}\b"))


@rule(id="GD-SVC-004", symbol="exec-missing", category="service.exec_missing",
      severity=Severity.ERROR, needs=("units",), layer="unit",
      explains=LOOP_SYMPTOMS + ("app.startup_failed",),
      title=N_("ExecStart names a program that does not exist (status=203/EXEC)"))
def exec_missing(facts: Facts) -> Iterator[Hit]:
    """systemd cannot exec the unit's command: a venv moved, a path mistyped, not executable."""
    for u in _relevant(facts):
        line = _exit_code_line(facts, u, "203/EXEC")
        if line is None and u.exec_main_status != 203:
            continue
        entries = facts.journal_of(u.name)
        detail = last_matching(entries, EXEC_FAIL_RE)
        evidence = [journal_excerpt(line)] if line else [state_line(u)]
        program = u.exec_start[0][0] if u.exec_start and u.exec_start[0] else "?"
        if detail:
            evidence.append(journal_excerpt(detail))
            m = EXEC_FAIL_RE.search(detail.message)
            program = m.group(1) if m else program
        evidence.append(Excerpt(u.source, f"ExecStart={' '.join(u.exec_start[0])}"
                                if u.exec_start else "ExecStart=?"))
        for p in facts.pythons or ():
            if p.unit == u.name and p.error:
                evidence.append(Excerpt(f"python.version:{u.name}", p.error))
        venv = program.rsplit("/bin/", 1)[0] if "/bin/" in program else None
        yield Hit(
            title=_("{unit}: cannot execute {program} (status=203/EXEC)").format(
                unit=u.name, program=program),
            evidence=tuple(evidence),
            explanation=_(
                "systemd could not start {program} for {unit}: the file does not exist or "
                "is not executable (203/EXEC is systemd's own exit code, the app never ran). "
                "Typically the virtualenv was moved, deleted or recreated elsewhere."
            ).format(program=program, unit=u.name),
            fix=Fix(
                summary=_("Point ExecStart= at the interpreter that exists, or recreate the "
                          "virtualenv at {venv}; then daemon-reload and restart.").format(
                              venv=venv or program),
                commands=(
                    f"ls -l {program}",
                    *((f"python3 -m venv {venv} && {venv}/bin/pip install -r "
                       f"{u.working_directory or '.'}/requirements.txt",) if venv else ()),
                    f"systemctl edit --full {u.name}   # " + _("or fix ExecStart="),
                    f"systemctl daemon-reload && systemctl restart {u.name}",
                ),
            ),
            links=(Link("unit", u.name), Link("log", line.message if line else program)),
        )


@rule(id="GD-SVC-005", symbol="workdir-missing", category="service.workdir_missing",
      severity=Severity.ERROR, needs=("units",), layer="unit",
      explains=LOOP_SYMPTOMS + ("app.startup_failed",),
      title=N_("WorkingDirectory does not exist (status=200/CHDIR)"))
def workdir_missing(facts: Facts) -> Iterator[Hit]:
    """systemd cannot chdir into WorkingDirectory= before starting the unit."""
    for u in _relevant(facts):
        line = _exit_code_line(facts, u, "200/CHDIR")
        if line is None and u.exec_main_status != 200:
            continue
        detail = last_matching(facts.journal_of(u.name),
                               re.compile(r"Changing to the requested working directory failed"))
        evidence = [journal_excerpt(line)] if line else [state_line(u)]
        if detail:
            evidence.append(journal_excerpt(detail))
        wd = u.working_directory or "?"
        evidence.append(Excerpt(u.source, f"WorkingDirectory={wd}"))
        listing = next((d for d in facts.listings or () if d.path == wd), None)
        if listing is not None and listing.error:
            evidence.append(Excerpt(f"fs.listing:{wd}", listing.error))
        yield Hit(
            title=_("{unit}: WorkingDirectory={workdir} does not exist (status=200/CHDIR)").format(
                unit=u.name, workdir=wd),
            evidence=tuple(evidence),
            explanation=_(
                "systemd could not change into {workdir} to start {unit} (200/CHDIR is "
                "systemd's own exit code, the app never ran). The folder was renamed, moved or "
                "not deployed, or the unit's user cannot enter it."
            ).format(workdir=wd, unit=u.name),
            fix=Fix(
                summary=_("Set WorkingDirectory= to the folder that holds the app, or deploy it "
                          "to {workdir}; then daemon-reload and restart.").format(workdir=wd),
                commands=(f"ls -ld {wd} {wd.rsplit('/', 1)[0] or '/'}/*",
                          f"systemctl edit --full {u.name}   # WorkingDirectory=",
                          f"systemctl daemon-reload && systemctl restart {u.name}"),
            ),
            links=(Link("unit", u.name), Link("log", line.message if line else wd)),
        )


def _unit_file(facts: Facts, u: Unit) -> UnitFileText | None:
    return next((f for f in facts.unit_files or () if f.unit == u.name), None)
