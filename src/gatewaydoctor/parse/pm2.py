"""pm2 evidence → Pm2State, and each web app as a unit-like fact named `pm2:<name>`.

Its out/err log lines become that unit's journal, so the app.* rules read its tracebacks
unchanged; pm2.log's lines about it (`App [api:0] exited with code [1]`) are its events.
"""

from __future__ import annotations

import re
from typing import Any

from ..evidence import Evidence, Item
from ..facts import Endpoint, JournalEntry, Pm2App, Pm2State, Unit
from ..formats import execspec, sources

# pm2 status → (ActiveState, SubState) the way systemd would say it.
STATES = {
    "online": ("active", "running"), "launching": ("activating", "start"),
    "waiting restart": ("activating", "auto-restart"), "stopping": ("deactivating", "stop"),
    "stopped": ("inactive", "dead"), "one-launch-status": ("inactive", "dead"),
    "errored": ("failed", "failed"),
}
# pm2.log: `2026-12-01T18:19:24: PM2 log: App [api:0] exited with code [1] via signal [SIGINT]`
# and, after it, `PM2 log: Script /v/bin/uvicorn had too many unstable restarts (16). Stopped.`
_EVENT_RE = re.compile(r"^\S+ PM2 (?:log|error): (?:App \[(.+?):\d+\] |Script \S+ had too many "
                       r"unstable restarts)")


def _lines(item: Item | None) -> list[tuple[int, str]]:
    """(line number in the file, text) of a log tail; numbers are the file's own when offset 0."""
    if item is None or not item.ok:
        return []
    first = 1 if not item.offset else 0
    return [(first and n + 1, line) for n, line in enumerate((item.stdout or "").splitlines())]


def _entry(path: str, n: int, line: str, unit: str, ident: str) -> JournalEntry:
    return JournalEntry(unit=unit, time=None, message=line, pid=None, identifier=ident,
                        priority=None, source=f"{path}:{n}" if n else path)


def _events(log: Item | None) -> dict[str, list[JournalEntry]]:
    """pm2.log's lines about each app; the give-up line goes to the app named just before."""
    events: dict[str, list[JournalEntry]] = {}
    path = (log.path if log is not None else None) or "pm2.log"
    last = None
    for n, line in _lines(log):
        m = _EVENT_RE.match(line)
        if m is None:
            continue
        name = m.group(1) or last
        if name is None:
            continue
        last = name
        events.setdefault(name, []).append(_entry(path, n, line, sources.pm2_unit(name), "pm2"))
    return events


def _int(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _app(a: dict[str, Any], home: str, source: str,
         events: dict[str, list[JournalEntry]]) -> Pm2App:
    name = str(a.get("name") or "")
    status = a.get("status")
    return Pm2App(
        name=name, pm_id=_int(a.get("pm_id")), home=home,
        status=str(status) if status else None, pid=_int(a.get("pid")) or None,
        restarts=_int(a.get("restart_time")) or 0,
        unstable_restarts=_int(a.get("unstable_restarts")) or 0,
        exit_code=_int(a.get("exit_code")), argv=tuple(str(x) for x in a.get("argv") or ()),
        cwd=a.get("pm_cwd") or None, user=a.get("user") or None,
        out_log=a.get("pm_out_log_path") or None, err_log=a.get("pm_err_log_path") or None,
        autorestart=a.get("autorestart") is not False, source=source,
        interpreter=a.get("exec_interpreter") or None,
        python_argv=tuple(str(x) for x in a.get("python_argv") or ()),
        events=tuple(events.get(name, ())))


def pm2_state(ev: Evidence) -> Pm2State | None:
    """Every daemon's apps, with pm2.log's lines about each; None when no daemon runs."""
    daemons = ev.get(sources.PM2_DAEMONS)
    if daemons is None:
        return None
    apps: list[Pm2App] = []
    homes, errors = [], []
    for d in (daemons.data or {}).get("daemons", []):
        home = str(d.get("home"))
        homes.append(home)
        listed = ev.get(sources.pm2_list(home))
        dump = ev.get(sources.pm2_dump(home))
        item = listed if listed is not None and listed.ok else dump
        if item is None or not item.ok:
            errors.append(next((i.error for i in (listed, dump) if i is not None and i.error),
                               f"pm2's list of {home} was not gathered") or "")
            continue
        if item is dump and listed is not None and listed.error:
            errors.append(f"{listed.label()}: {listed.error}")
        source = (f"pm2 jlist (PM2_HOME={home})" if item is listed
                  else item.path or f"{home}/dump.pm2")
        events = _events(ev.get(sources.pm2_log(home)))
        apps += [_app(a, home, source, events) for a in (item.data or {}).get("apps", [])]
    return Pm2State(apps=tuple(apps), homes=tuple(homes), errors=tuple(errors))


def control(home: str, daemon_user: str | None) -> str:
    """What pm2's commands need first to reach this daemon: its user and PM2_HOME (named for
    another user always: whether sudo keeps root's HOME depends on its configuration)."""
    user = daemon_user or "root"
    if user == "root":
        return "" if home == "/root/.pm2" else f"PM2_HOME={home} "
    return f"sudo -u {user} env PM2_HOME={home} "


def app_units(ev: Evidence, state: Pm2State) -> list[Unit]:
    """Each web app as a Unit named `pm2:<name>`."""
    daemons = ev.get(sources.PM2_DAEMONS)
    owners = {str(d.get("home")): d.get("user") for d in
              ((daemons.data if daemons is not None else None) or {}).get("daemons", [])}
    out: list[Unit] = []
    for a in state.apps:
        if any(u.name == a.unit for u in out):
            continue  # another instance of the same app (`pm2 start -i N`): one service
        argv = list(a.python_argv or a.argv)  # a Python server run with Node: what it serves
        server = execspec.server_of(argv)
        if server in (None, "python"):
            continue
        active, sub = STATES.get(a.status or "", ("", ""))
        out.append(Unit(
            name=a.unit, manager="pm2", load_state="loaded" if a.status else "",
            active_state=active, sub_state=sub,
            result="exit-code" if a.status == "errored" else "success",
            n_restarts=a.restarts, exec_main_code=None, exec_main_status=a.exit_code,
            exec_start=(a.argv,), server=server, app=execspec.app_target(argv),
            binds=tuple(Endpoint.parse(b) for b in execspec.binds(argv)),
            working_directory=a.cwd, user=a.user, environment_files=(), fragment_path=None,
            unit_file_state="", main_pid=a.pid, need_daemon_reload=False,
            description=f"pm2 app {a.name} (PM2_HOME={a.home})", source=a.source,
            status_text=a.status_line, control=control(a.home, owners.get(a.home)),
        ))
    return out


def app_journal(ev: Evidence) -> list[JournalEntry]:
    """The apps' error and output log lines, as the journal of `pm2:<name>`."""
    out = []
    for item in ev.items.values():
        if not item.source.startswith((sources.PM2_STDERR_PREFIX, sources.PM2_STDOUT_PREFIX)):
            continue
        unit = sources.pm2_unit(item.subject)
        for n, line in _lines(item):
            out.append(_entry(item.path or item.source, n, line, unit, item.subject))
    return out
