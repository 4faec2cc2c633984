"""The service cannot bind: another process holds the port it wants."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...categories import LOOP_SYMPTOMS
from ...facts import Endpoint, Facts, JournalEntry, Listener, Process, Unit, last_matching
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Msg, Text, found, msg

# uvicorn: `[Errno 98] error while attempting to bind on address ('0.0.0.0', 8000): address
# already in use`; gunicorn: `Connection in use: ('0.0.0.0', 8000)`; plain OSError.
IN_USE_RE = re.compile(r"address already in use|Address already in use|Connection in use")
ADDR_RE = re.compile(r"\('([^']*)', (\d+)\)")
# What nginx logs when something that is not the app answers on the port.
NGINX_SQUATTED_RE = re.compile(r"upstream prematurely closed|Connection reset by peer|"
                               r"no valid HTTP/1.0 header|Broken pipe")


@rule(id="GD-PRT-001", symbol="port-conflict", category="port.conflict",
      severity=Severity.ERROR, layer="process",
      explains=LOOP_SYMPTOMS + ("app.startup_failed", "upstream.timeout"),
      title=N_("Another process holds the port the service wants"),
      texts=Text(
          title=N_("{unit}: port {port} is already in use by {holder}"),
          explanation=N_(
              "{unit} wants to listen on {address}, but {holder} already holds it, so the "
              "app exits with `address already in use` and systemd keeps restarting it. "
              "nginx still reaches the port, but talks to the wrong process: it answers 502 "
              "(`upstream prematurely closed` / `Connection reset by peer`) instead of "
              "connection refused."),
          fix=N_("Stop the process holding port {port} (or move one of the two to another "
                 "port), then restart the service."),
          commands=("ss -ltnp 'sport = :{port}'", "{stop}", "systemctl disable {holder_unit}",
                    "{restart}")))
def port_conflict(facts: Facts, units: tuple[Unit, ...],
                  journal: tuple[JournalEntry, ...]) -> Iterator[Found]:
    """`address already in use` from the app, and the process that holds the port."""
    for unit in facts.web_units():
        line = last_matching(facts.since_last_start(unit.name), IN_USE_RE)
        if line is None or not facts.failing(unit):
            continue
        want = _bind(line.message, unit)
        port = want.port if want else None
        holders = _holders(facts, unit, want) if want is not None else []
        evidence = [line.excerpt, *(Excerpt(li.table, f"{li.endpoint.label} is held by "
                                               f"{_who(p, pid, facts)}")
                                    for li, p, pid in holders[:2])]
        holder, holder_unit, stop = _holder(facts, holders[0] if holders else None, port)
        yield found(evidence + _answers(facts, port), _links(unit, line, holders, port),
                    unit=unit.name, port=port, restart=unit.restart_command,
                    address=want.label if want else msg(N_("its port")),
                    holder=holder, holder_unit=holder_unit, stop=stop)


def _links(unit: Unit, line: JournalEntry, holders: list[tuple[Listener, Process | None, int]],
           port: int | None) -> list[Link]:
    links = [Link("unit", unit.name), Link("log", line.message)]
    links += [Link("listener", li.endpoint.label) for li, _p, _pid in holders[:1]]
    return links + ([Link("upstream", f"127.0.0.1:{port}")] if port else [])


def _holder(facts: Facts, first: tuple[Listener, Process | None, int] | None,
            port: int | None) -> tuple[str | Msg, str | None, str]:
    """Who holds the port, its unit, and how to stop it."""
    if first is None:
        return msg(N_("another process")), None, f"ss -ltnp 'sport = :{port}'"
    _li, proc, pid = first
    unit = proc.unit if proc else None
    return (_who(proc, pid, facts), unit,
            f"systemctl stop {unit}" if unit else f"kill {pid}")


def _bind(message: str, unit: Unit) -> Endpoint | None:
    m = ADDR_RE.search(message)
    if m:
        return Endpoint(host=m.group(1) or "0.0.0.0", port=int(m.group(2)))
    return next((b for b in unit.binds if b.port is not None), None)


def _holders(facts: Facts, unit: Unit,
             want: Endpoint) -> list[tuple[Listener, Process | None, int]]:
    """(listener, process, pid) of sockets on want's port, not owned by unit itself."""
    return [(li, facts.process(pid), pid) for li in facts.listeners or ()
            if li.endpoint.path is None and li.endpoint.port == want.port
            for pid in li.pids if getattr(facts.process(pid), "unit", None) != unit.name]


def _who(p: Process | None, pid: int, facts: Facts) -> str:
    if p is None:
        return f"pid {pid}"
    user = facts.accounts.user_name(p.uid) if facts.accounts and p.uid is not None else p.uid
    cmd = p.command.replace("\n", "; ")
    cmd = cmd if len(cmd) <= 100 else cmd[:97] + "..."
    unit = f", {p.unit}" if p.unit else ""
    return f"pid {p.pid} ({cmd}{unit}, user {user})"


def _answers(facts: Facts, port: int | None) -> list[Excerpt]:
    """What nginx logged and a direct probe got from the port's wrong owner."""
    if port is None:
        return []
    logged = [Excerpt(e.where, e.raw) for e in facts.nginx_errors or ()
              if NGINX_SQUATTED_RE.search(e.message) and f":{port}/" in (e.upstream or "")]
    probed = [Excerpt(f"probe {p.label}", p.error or "") for p in facts.probes or ()
              if p.via == "upstream" and p.error and p.endpoint.endswith(f":{port}")]
    return logged[-1:] + probed[:1]
