"""Each runtime's containers (the agent's `container.list:<runtime>`) → a unit-like service
named `container:<name>` for each that runs a Python web server; what it printed
(`container.log:<name>`) becomes that service's journal, so the app.* rules read its
tracebacks unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..evidence import Evidence, Item
from ..facts import Endpoint, JournalEntry, Unit
from ..formats import execspec, sources

# A runtime's state → (ActiveState, SubState) the way systemd would say it.
STATES = {
    "running": ("active", "running"), "created": ("inactive", "dead"),
    "restarting": ("activating", "auto-restart"), "paused": ("active", "paused"),
    "exited": ("failed", "failed"), "stopped": ("inactive", "dead"), "dead": ("failed", "failed"),
}


def _int(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _unit(c: Mapping[str, Any], source: str) -> Unit | None:
    argv = [str(a) for a in c.get("command") or []]
    server = execspec.server_of(argv)
    name = c.get("name") or str(c.get("id") or "")[:12]
    if server in (None, "python") or not name:
        return None
    state = str(c.get("state") or "")
    code = _int(c.get("exit_code"))
    active, sub = STATES.get(state, ("", ""))
    if state == "exited" and code == 0:
        active, sub = "inactive", "dead"  # stopped on request, as systemd says of a clean stop
    return Unit(
        name=sources.container_unit(str(name)), manager="container",
        load_state="loaded", active_state=active, sub_state=sub,
        result="exit-code" if active == "failed" else "success",
        n_restarts=_int(c.get("restarts")) or 0, exec_main_code=None,
        exec_main_status=code if state != "running" else None, exec_start=(tuple(argv),),
        server=server, app=execspec.app_target(argv),
        binds=tuple(Endpoint.parse(b) for b in execspec.binds(argv)),
        working_directory=c.get("workdir") or None, user=None, environment_files=(),
        fragment_path=None, unit_file_state="", main_pid=_int(c.get("pid")),
        need_daemon_reload=False,
        description=f"{c.get('runtime')} container {name} ({c.get('image') or 'no image'})",
        source=source, status_text=f"{name}: {c.get('status') or state}"
        + (f" (exit code {code})" if state != "running" and code is not None else ""),
        control=str(c.get("runtime") or "docker"))


def units(ev: Evidence) -> list[Unit]:
    """The containers that run a Python web server, as services."""
    out: list[Unit] = []
    for item in ev.prefixed(sources.CONTAINER_LIST_PREFIX):
        if not item.ok:
            continue
        for c in (item.data or {}).get("containers") or ():
            unit = _unit(c, item.label())
            if unit is not None and all(u.name != unit.name for u in out):
                out.append(unit)
    return out


def _lines(item: Item) -> list[str]:
    # podman logs gives the container's stdout and stderr apart; a traceback is in one.
    return (item.stdout or "").splitlines() + (item.stderr or "").splitlines()


def journal(ev: Evidence) -> list[JournalEntry]:
    """What each container printed, as the journal of `container:<name>`."""
    out = []
    for item in ev.prefixed(sources.CONTAINER_LOG_PREFIX):
        if not item.ok:
            continue
        unit = sources.container_unit(item.subject)
        where = item.path or item.label()
        out += [JournalEntry(unit=unit, time=None, message=line, pid=None,
                             identifier=item.subject, priority=None, source=where)
                for line in _lines(item)]
    return out
