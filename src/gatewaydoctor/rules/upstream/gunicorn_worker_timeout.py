"""gunicorn kills a worker whose request outlives --timeout; nginx sees the connection close."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import ErrorLogEntry, Facts, JournalEntry, Location, ServerBlock, Unit, place_links
from ...facts.managers import restart_with
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Msg, Text, found, msg

WORKER_TIMEOUT_RE = re.compile(r"WORKER TIMEOUT \(pid:(\d+)\)")
PREMATURE_RE = re.compile(r"upstream prematurely closed connection|recv\(\) failed \(104: ")


@rule(id="GD-NGX-010", symbol="gunicorn-worker-timeout", category="upstream.timeout",
      severity=Severity.ERROR, layer="app", explains=("probe.failed", "upstream.unreachable"),
      title=N_("gunicorn killed a worker that did not answer within --timeout"),
      texts=Text(
          title=N_("gunicorn WORKER TIMEOUT in {unit}: a request ran longer than --timeout "
                   "{seconds}s and its worker was killed"),
          explanation=(N_(
              "gunicorn's master ({unit}) killed worker {pid} because it sent no heartbeat "
              "for {seconds}s ({n} time(s)). The request it was serving dies with it, so "
              "nginx sees the connection close (`upstream prematurely closed connection`, "
              "502). With an async worker this means blocking code (time.sleep, a sync DB "
              "driver) inside `async def`."), "{order}"),
          fix=N_("Make the slow handler non-blocking (plain `def`, or run the blocking call in "
                 "a thread), or raise gunicorn's --timeout in {unit}."),
          commands=("{recent_logs} | grep -B5 'WORKER TIMEOUT'", "{longer}")))
def gunicorn_worker_timeout(facts: Facts, journal: tuple[JournalEntry, ...],
                            units: tuple[Unit, ...],
                            nginx_errors: tuple[ErrorLogEntry, ...] = ()) -> Iterator[Found]:
    """`[CRITICAL] WORKER TIMEOUT (pid:N)`: the request in flight dies; nginx sees the
    connection close (502) or times out first (504)."""
    for unit in facts.web_units():
        # The current run's lines only: a worker killed under an earlier --timeout says
        # nothing about the one gunicorn runs with now.
        logged = _current_run(facts.journal_of(unit.name))
        entries = [(e, m) for e in logged if (m := WORKER_TIMEOUT_RE.search(e.message))]
        if not entries:
            continue
        last, m = entries[-1]
        seconds, how = _gunicorn_timeout(unit)
        killed = [e.excerpt for e in logged if f"(pid:{m.group(1)}) was sent" in e.message]
        nginx, server, loc = _nginx_saw(facts, unit, nginx_errors)
        setting, order = _order(facts, server, loc, seconds)
        yield found([last.excerpt, *killed[-1:], Excerpt(unit.source, f"ExecStart: {how}"),
                     *nginx, *setting], [Link("unit", unit.name), *place_links(server, loc)],
                    unit=unit.name, pid=m.group(1), seconds=seconds, n=len(entries), order=order,
                    longer=restart_with(unit, option=("--timeout", "120")))


def _current_run(entries: list[JournalEntry]) -> list[JournalEntry]:
    """The entries from systemd's last `Started` line on (all of them without one)."""
    starts = [i for i, e in enumerate(entries)
              if e.identifier == "systemd" and e.message.startswith("Started ")]
    return entries[starts[-1]:] if starts else entries


def _nginx_saw(facts: Facts, unit: Unit, nginx_errors: tuple[ErrorLogEntry, ...]
               ) -> tuple[list[Excerpt], ServerBlock | None, Location | None]:
    """nginx's newest line about a connection to the unit closing, and where it went."""
    eps = {b.label for b in unit.binds}
    seen = [e for e in nginx_errors if PREMATURE_RE.search(e.message) and e.upstream_label in eps]
    if not seen:
        return [], None, None
    return [seen[-1].excerpt], *facts.place(seen[-1])


def _order(facts: Facts, server: ServerBlock | None, loc: Location | None,
           seconds: int) -> tuple[list[Excerpt], Msg | None]:
    """nginx's proxy_read_timeout where the request went, and which timeout fires first."""
    if loc is None or facts.nginx_config is None:
        return [], None
    value, ex = facts.nginx_config.in_force("proxy_read_timeout", server, loc, "60s")
    secs = _seconds(value)
    if secs is None:
        return [ex], None
    return [ex], msg(N_("gunicorn's --timeout ({seconds}s) is shorter than nginx's "
                        "proxy_read_timeout ({value}), so the worker dies first: 502, not 504.")
                     if seconds < secs else
                     N_("nginx's proxy_read_timeout ({value}) is shorter than gunicorn's "
                        "--timeout ({seconds}s): clients get 504 first."),
                     seconds=seconds, value=value)


def _gunicorn_timeout(unit: Unit) -> tuple[int, str]:
    """gunicorn's --timeout in the unit's ExecStart, and how it is written there."""
    for argv in unit.exec_start:
        for i, arg in enumerate(argv):
            if arg in ("--timeout", "-t") and i + 1 < len(argv) and argv[i + 1].isdigit():
                return int(argv[i + 1]), f"{arg} {argv[i + 1]}"
            if arg.startswith("--timeout=") and arg[10:].isdigit():
                return int(arg[10:]), arg
    return 30, "no --timeout: gunicorn's default 30 s (unless a -c config file sets it)"


def _seconds(value: str) -> float | None:
    """nginx time (`60s`, `2m`, `500ms`, `90`) in seconds."""
    m = re.fullmatch(r"(\d+)(ms|s|m|h)?", value.strip())
    if not m:
        return None
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2) or "s"]
    return int(m.group(1)) * scale
