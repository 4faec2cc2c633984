"""supervisord evidence → SupervisorState, and each web program as a unit-like fact.

A program is shown to the rules as a Unit named `supervisor:<name>` and its stderr/stdout
log lines as that unit's journal, so the app.* rules read its tracebacks unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from ..evidence import Evidence, Item
from ..facts import Endpoint, JournalEntry, SupervisorProgram, SupervisorState, Unit
from ..formats import execspec, sources, systemd

# `name   STATE   description` (supervisorctl status).
_STATUS_RE = re.compile(r"^(\S+)\s+(RUNNING|STARTING|BACKOFF|STOPPING|STOPPED|EXITED|FATAL|"
                        r"UNKNOWN)\b\s*(.*)$")
# supervisord.log: `2026-11-23 21:51:41,396 INFO gave up: NAME entered FATAL state, ...`
_EVENT_RE = re.compile(r"^\S+ \S+ [A-Z]+ (?:spawned: '([^']+)'|exited: (\S+) |gave up: (\S+) |"
                       r"success: (\S+) |stopped: (\S+) |waiting for (\S+) to stop)")
# supervisor state → (ActiveState, SubState) the way systemd would say it.
STATES = {
    "RUNNING": ("active", "running"), "STARTING": ("activating", "start"),
    "BACKOFF": ("activating", "auto-restart"), "STOPPING": ("deactivating", "stop"),
    "STOPPED": ("inactive", "dead"), "EXITED": ("inactive", "dead"),
    "FATAL": ("failed", "failed"), "UNKNOWN": ("", ""),
}


def _lines(item: Item | None) -> list[tuple[int, str]]:
    """(line number in the file, text) of a log tail; numbers are the file's own when offset 0."""
    if item is None or not item.ok:
        return []
    first = 1 if not item.offset else 0  # a tail not from the start: no line numbers
    return [(first and n + 1, line) for n, line in enumerate((item.stdout or "").splitlines())]


def _entry(path: str, n: int, line: str, unit: str | None, ident: str) -> JournalEntry:
    return JournalEntry(unit=unit, time=None, message=line, pid=None, identifier=ident,
                        priority=None, source=f"{path}:{n}" if n else path)


def _status_lines(text: str) -> dict[str, tuple[str, str]]:
    """`supervisorctl status` output: program → (state, its whole line)."""
    matches = (_STATUS_RE.match(line.strip()) for line in text.splitlines())
    return {m.group(1): (m.group(2), m.group(0)) for m in matches if m}


def _states(status: Item | None) -> tuple[dict[str, tuple[str, str]], str | None]:
    """(program → (state, status line), why the status could not be read)."""
    if status is None:
        return {}, None
    if not status.ok:
        return {}, status.error
    states = _status_lines(status.stdout or "")
    if states or status.rc in (0, None):
        return states, None
    return states, ((status.stdout or "") + (status.stderr or "")).strip() or None


def _events(log: Item | None) -> dict[str, list[JournalEntry]]:
    """supervisord.log's lines about each program (spawned, exited, gave up...)."""
    events: dict[str, list[JournalEntry]] = {}
    path = (log.path if log is not None else None) or "supervisord.log"
    for n, line in _lines(log):
        m = _EVENT_RE.match(line)
        if m:
            name = next(g for g in m.groups() if g)
            events.setdefault(name, []).append(
                _entry(path, n, line, sources.supervisor_unit(name), "supervisord"))
    return events


def _state_of(states: dict[str, tuple[str, str]], name: str) -> tuple[str | None, str]:
    """(state, status line) of a program; supervisorctl names a grouped one `group:name`."""
    found = states.get(name) or next(
        (v for k, v in states.items() if k.endswith(":" + name)), None)
    return found if found else (None, "")


def _program(p: dict[str, Any], state: tuple[str | None, str], conf_path: str | None,
             events: list[JournalEntry]) -> SupervisorProgram:
    """One `[program:x]` section as the agent recorded it."""
    return SupervisorProgram(
        name=str(p.get("name", "")), state=state[0], status_line=state[1],
        command=str(p.get("command") or ""), directory=p.get("directory") or None,
        user=p.get("user") or None,
        environment_keys=tuple(p.get("environment_keys") or ()),
        stdout_logfile=p.get("stdout_logfile") or None,
        stderr_logfile=p.get("stderr_logfile") or None,
        config_file=str(p.get("file") or conf_path or ""),
        autostart=str(p.get("autostart") or "true").lower() not in ("false", "0", "no"),
        events=tuple(events),
    )


def supervisor_state(ev: Evidence) -> SupervisorState | None:
    """Programs from the config, with their state and the supervisord.log lines about them."""
    conf = ev.get(sources.SUPERVISOR_CONFIG)
    if conf is None or not conf.ok:
        return None
    status = ev.get(sources.SUPERVISOR_STATUS)
    states, status_error = _states(status)
    events = _events(ev.get(sources.SUPERVISOR_LOG))
    data = conf.data or {}
    programs = tuple(
        _program(p, _state_of(states, str(p.get("name", ""))), conf.path,
                 events.get(str(p.get("name", "")), []))
        for p in data.get("programs", []))
    return SupervisorState(
        programs=programs, config_files=tuple(data.get("files") or ()),
        status_source=" ".join(status.argv) if status is not None and status.argv
        else "supervisorctl status",
        status_error=status_error,
    )


def _split(command: str) -> list[str]:
    argvs = systemd.exec_argvs(command)
    return argvs[0] if argvs else []


def program_units(state: SupervisorState) -> list[Unit]:
    """Each web program as a Unit named `supervisor:<name>`."""
    out = []
    for p in state.programs:
        argv = _split(p.command)
        server = execspec.server_of(argv)
        if server in (None, "python"):
            continue
        active, sub = STATES.get(p.state or "", ("", ""))
        spawns = sum(1 for e in p.events if "spawned:" in e.message)
        out.append(Unit(
            name=p.unit, manager="supervisor", load_state="loaded" if p.state else "",
            active_state=active,
            sub_state=sub, result="exit-code" if p.state == "FATAL" else "success",
            n_restarts=max(0, spawns - 1), exec_main_code=None, exec_main_status=None,
            exec_start=(tuple(argv),), server=server, app=execspec.app_target(argv),
            binds=tuple(Endpoint.parse(b) for b in execspec.binds(argv)),
            working_directory=p.directory, user=p.user, environment_files=(),
            fragment_path=p.config_file,
            unit_file_state="enabled" if p.autostart else "disabled",
            main_pid=None, need_daemon_reload=False, description=f"supervisor program {p.name}",
            source=f"supervisorctl status {p.name}",
        ))
    return out


def program_journal(ev: Evidence) -> list[JournalEntry]:
    """The programs' stderr and stdout log lines, as the journal of `supervisor:<name>`."""
    out = []
    for item in ev.items.values():
        if not item.source.startswith((sources.SUPERVISOR_STDERR_PREFIX,
                                        sources.SUPERVISOR_STDOUT_PREFIX)):
            continue
        unit = sources.supervisor_unit(item.subject)
        for n, line in _lines(item):
            out.append(_entry(item.path or item.source, n, line, unit, item.subject))
    return out


def _replaceable(u: Unit) -> bool:
    """A systemd web unit that is stopped and not enabled (a program may have replaced it)."""
    return (u.is_web_app and not u.name.startswith(sources.SUPERVISOR_UNIT_PREFIX)
            and u.active_state in ("inactive", "failed") and u.unit_file_state != "enabled")


def _same_service(u: Unit, p: Unit) -> bool:
    """The same app (module:attr from the same directory), or bound to the same port."""
    same_app = (u.app is not None and p.app is not None and
                (u.app.module, u.app.attr) == (p.app.module, p.app.attr) and
                u.working_directory == p.working_directory)
    return same_app or any(b.port is not None and any(b.port == q.port for q in p.binds)
                           for b in u.binds)


def superseded(units: tuple[Unit, ...], programs: list[Unit]) -> set[str]:
    """systemd web units replaced by a supervisor program: stopped, not enabled, and running
    the same app (module:attr from the same directory) or binding the same address."""
    return {u.name for u in units if _replaceable(u)
            and any(_same_service(u, p) for p in programs)}
