"""Rules about ports: the service cannot bind because another process holds its port."""

from __future__ import annotations

import re

from ...facts import Endpoint, Facts, Listener, Process, Unit

# uvicorn: `[Errno 98] error while attempting to bind on address ('0.0.0.0', 8000): address
# already in use`; gunicorn: `Connection in use: ('0.0.0.0', 8000)`; plain OSError.
IN_USE_RE = re.compile(r"address already in use|Address already in use|Connection in use")
ADDR_RE = re.compile(r"\('([^']*)', (\d+)\)")
# What nginx logs when something that is not the app answers on the port.
NGINX_SQUATTED_RE = re.compile(r"upstream prematurely closed|Connection reset by peer|"
                               r"no valid HTTP/1.0 header|Broken pipe")


def _bind(message: str, unit: Unit) -> Endpoint | None:
    m = ADDR_RE.search(message)
    if m:
        return Endpoint(host=m.group(1) or "0.0.0.0", port=int(m.group(2)))
    return next((b for b in unit.binds if b.port is not None), None)


def _holders(facts: Facts, unit: Unit,
             want: Endpoint) -> list[tuple[Listener, Process | None, int]]:
    """(listener, process, pid) of sockets on want's port, not owned by unit itself."""
    out: list[tuple[Listener, Process | None, int]] = []
    for li in facts.listeners or ():
        ep = li.endpoint
        if ep.path is not None or ep.port != want.port:
            continue
        for pid in li.pids:
            p = facts.process(pid)
            if p is not None and p.unit == unit.name:
                continue
            out.append((li, p, pid))
    return out


def _who(p: Process | None, pid: int, facts: Facts) -> str:
    if p is None:
        return f"pid {pid}"
    user = facts.accounts.user_name(p.uid) if facts.accounts and p.uid is not None else p.uid
    cmd = p.command.replace("\n", "; ")
    cmd = cmd if len(cmd) <= 100 else cmd[:97] + "..."
    unit = f", {p.unit}" if p.unit else ""
    return f"pid {p.pid} ({cmd}{unit}, user {user})"
