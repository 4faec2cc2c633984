"""The service cannot bind: another process holds the port it wants."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Optional, Tuple

from ...categories import LOOP_SYMPTOMS
from ...facts import Endpoint, Facts, JournalEntry, Listener, Process, Unit, last_matching
from ...facts.signatures import BOUND_RE, IN_USE_RE, NGINX_SQUATTED_RE, in_use_address
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Msg, Text, found, msg

FIX = N_("Stop the process holding port {port} (or move one of the two to another port), "
         "then restart the service.")
Holder = Tuple[Listener, Optional[Process], int]
COMMANDS = ("ss -ltnp 'sport = :{port}'", "{stop}", "systemctl disable {holder_unit}", "{restart}")

@rule(id="GD-PRT-001", symbol="port-conflict", category="port.conflict",
      severity=Severity.ERROR, layer="process",
      explains=LOOP_SYMPTOMS + ("app.startup_failed", "upstream.timeout", "probe.failed"),
      title=N_("Another process holds the port the service wants"),
      texts={"default": Text(
          title=N_("{unit}: port {port} is already in use by {holder}"),
          explanation=N_(
              "{unit} wants to listen on {address}, but {holder} already holds it, so the "
              "app exits with `address already in use` and {keeps_restarting}. "
              "nginx still reaches the port, but talks to the wrong process: it answers 502 "
              "(`upstream prematurely closed` / `Connection reset by peer`) instead of "
              "connection refused."), fix=FIX, commands=COMMANDS),
             "retrying": Text(
          title=N_("{unit}: port {port} is held by {holder} while the service stays active"),
          explanation=N_(
              "{unit} is active, but its server could not bind {address}: {holder} holds it "
              "and the server keeps retrying (gunicorn: five times, a second apart). "
              "{shown_active}, nothing of the app listens, and nginx talks to "
              "{holder} instead: 502, or that process's own answers."), fix=FIX,
          commands=COMMANDS)})
def port_conflict(facts: Facts, units: tuple[Unit, ...],
                  journal: tuple[JournalEntry, ...]) -> Iterator[Found]:
    """The server's address-in-use line (uvicorn, gunicorn, hypercorn, daphne, granian, uWSGI,
    waitress, Django, werkzeug), and the process that holds the port; a unit still active
    counts when a stranger holds the port and the server has not bound since."""
    for unit in _servers(units):
        line, earlier = _in_use(facts, unit)
        want = _bind(facts, line.message, unit) if line else None
        holders = _holders(facts, unit, want) if want is not None else []
        retrying = line is not None and not facts.failing(unit)
        # An earlier run's line counts only while a stranger holds the port.
        if line is not None and (holders or not (retrying or earlier)):
            yield _found(facts, unit, line, want, holders, retrying)


def _found(facts: Facts, unit: Unit, line: JournalEntry, want: Endpoint | None,
           holders: list[Holder], retrying: bool) -> Found:
    """The finding: the line, who holds the port, what nginx and a probe got from it."""
    port = want.port if want else None
    evidence = [line.excerpt, *(Excerpt(li.table, f"{li.endpoint.label} is held by "
                                           f"{facts.who(pid)}") for li, p, pid in holders[:2])]
    holder, holder_unit, stop = _holder(facts, holders[0] if holders else None, port)
    links = [Link("unit", unit.name), Link("log", line.message),
             *(Link("listener", li.endpoint.label) for li, _p, _pid in holders[:1]),
             *([Link("upstream", f"127.0.0.1:{port}")] if port else [])]
    return found(evidence + _answers(facts, port), links,
                 text="retrying" if retrying else "default", unit=unit.name, port=port,
                 address=want.label if want else msg(N_("its port")),
                 holder=holder, holder_unit=holder_unit, stop=stop)


def _servers(units: tuple[Unit, ...]) -> list[Unit]:
    """Web servers, and servers started by hand that are gone (their nohup.out is left)."""
    return [u for u in units if u.is_web_app or u.manager == "process"]


def _in_use(facts: Facts, unit: Unit) -> tuple[JournalEntry | None, bool]:
    """The newest address-in-use line of the unit's current run, else of an earlier run (a
    restarted server not binding yet), unless it bound since; and whether it is earlier."""
    entries = facts.journal_of(unit.name)
    line = last_matching(facts.since_last_start(unit.name), IN_USE_RE)
    earlier, line = line is None, line or last_matching(entries, IN_USE_RE)
    after = entries[entries.index(line) + 1:] if line else []
    bound = line is None or any(BOUND_RE.search(e.message) for e in after)
    return (None, False) if bound else (line, earlier)


def _holder(facts: Facts, first: Holder | None,
            port: int | None) -> tuple[str | Msg, str | None, str]:
    """Who holds the port, its unit, and how to stop it."""
    if first is None:
        return msg(N_("another process")), None, f"ss -ltnp 'sport = :{port}'"
    _li, proc, pid = first
    unit = proc.unit if proc and (proc.unit or "").endswith(".service") else None
    return facts.who(pid), unit, f"systemctl stop {unit}" if unit else f"kill {pid}"


def _bind(facts: Facts, message: str, unit: Unit) -> Endpoint | None:
    """Where the line says, else the unit's first TCP bind, else where nginx sends its site."""
    if said := in_use_address(message):
        return Endpoint(host=said[0] or "0.0.0.0", port=said[1])
    return next((b for b in facts.meant_binds(unit) if b.port is not None), None)


def _holders(facts: Facts, unit: Unit, want: Endpoint) -> list[Holder]:
    """(listener, process, pid) of sockets on want's port, not owned by unit itself."""
    return [(li, facts.process(pid), pid) for li in facts.listeners or ()
            if li.endpoint.path is None and li.endpoint.port == want.port
            for pid in li.pids if getattr(facts.process(pid), "unit", None) != unit.name]


def _answers(facts: Facts, port: int | None) -> list[Excerpt]:
    """What nginx logged and a direct probe got from the port's wrong owner."""
    if port is None:
        return []
    logged = [Excerpt(e.where, e.raw) for e in facts.nginx_errors or ()
              if NGINX_SQUATTED_RE.search(e.message) and f":{port}/" in (e.upstream or "")]
    probed = [Excerpt(p.where, p.error or "") for p in facts.probes or ()
              if p.via == "upstream" and p.error and p.endpoint.endswith(f":{port}")]
    return logged[-1:] + probed[:1]
