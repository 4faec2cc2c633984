"""Rules about ports: the service cannot bind because another process holds its port."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import Endpoint, Facts, Listener, Process, Unit
from ...findings import Excerpt, Fix, Hit, Link, Severity
from ...i18n import N_, _
from ..registry import rule
from .common import journal_excerpt, restart_command
from .service import LOOP_SYMPTOMS, failing, since_last_start

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


@rule(id="GD-PRT-001", symbol="port-conflict", category="port.conflict",
      severity=Severity.ERROR, needs=("units", "journal"), layer="process",
      explains=LOOP_SYMPTOMS + ("app.startup_failed", "upstream.timeout"),
      title=N_("Another process holds the port the service wants"))
def port_conflict(facts: Facts) -> Iterator[Hit]:
    """`address already in use` from the app, and the process that holds the port."""
    for unit in facts.web_units():
        if not failing(facts, unit):
            continue
        line = next((e for e in reversed(since_last_start(facts, unit.name))
                     if IN_USE_RE.search(e.message)), None)
        if line is None:
            continue
        want = _bind(line.message, unit)
        evidence = [journal_excerpt(line)]
        holders = _holders(facts, unit, want) if want is not None else []
        for li, p, pid in holders[:2]:
            evidence.append(Excerpt(li.table,
                                    f"{li.endpoint.label} is held by {_who(p, pid, facts)}"))
        port = want.port if want else None
        answers = [e for e in facts.nginx_errors or ()
                   if NGINX_SQUATTED_RE.search(e.message) and port is not None and e.upstream
                   and f":{port}/" in e.upstream]
        if answers:
            evidence.append(Excerpt(answers[-1].where, answers[-1].raw))
        probe = next((p for p in facts.probes or () if p.via == "upstream" and p.error and
                      port is not None and p.endpoint.endswith(f":{port}")), None)
        if probe is not None:
            evidence.append(Excerpt(f"probe {probe.label}", probe.error or ""))
        first = holders[0] if holders else None
        squatter = _who(first[1], first[2], facts) if first else _("another process")
        stop = (f"systemctl stop {first[1].unit}" if first and first[1] and first[1].unit
                else f"kill {first[2]}" if first else f"ss -ltnp 'sport = :{port}'")
        yield Hit(
            title=_("{unit}: port {port} is already in use by {holder}").format(
                unit=unit.name, port=port, holder=squatter),
            evidence=tuple(evidence),
            explanation=_(
                "{unit} wants to listen on {address}, but {holder} already holds it, so the "
                "app exits with `address already in use` and systemd keeps restarting it. "
                "nginx still reaches the port, but talks to the wrong process: it answers 502 "
                "(`upstream prematurely closed` / `Connection reset by peer`) instead of "
                "connection refused."
            ).format(unit=unit.name, address=want.label if want else _("its port"),
                     holder=squatter),
            fix=Fix(
                summary=_("Stop the process holding port {port} (or move one of the two to "
                          "another port), then restart the service.").format(port=port),
                commands=(f"ss -ltnp 'sport = :{port}'", stop,
                          *((f"systemctl disable {first[1].unit}",)
                            if first and first[1] and first[1].unit else ()),
                          restart_command(unit.name)),
            ),
            links=(Link("unit", unit.name), Link("log", line.message),
                   *((Link("listener", first[0].endpoint.label),) if first else ()),
                   *((Link("upstream", f"127.0.0.1:{port}"),) if port else ())),
        )
