"""uWSGI kills a worker whose request outlives --harakiri; nginx sees the connection close."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import (
    ErrorLogEntry,
    Facts,
    JournalEntry,
    Location,
    ServerBlock,
    Unit,
    place_links,
)
from ...facts.managers import restart_with
from ...facts.signatures import UWSGI_HARAKIRI_RE
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Text, found

# core/master_utils.c uwsgi_dump_worker: `HARAKIRI [core 0] 127.0.0.1 - GET /slow since <t>`.
REQUEST_RE = re.compile(r"HARAKIRI \[core \d+\] \S+ - (\S+ \S+) since")
PREMATURE_RE = re.compile(r"upstream prematurely closed connection|recv\(\) failed \(104: ")


@rule(id="GD-NGX-013", symbol="uwsgi-harakiri", category="upstream.timeout",
      severity=Severity.ERROR, layer="app", explains=("probe.failed", "upstream.unreachable"),
      title=N_("uWSGI killed a worker whose request ran longer than --harakiri"),
      texts=Text(
          title=N_("uWSGI HARAKIRI in {unit}: a request ran longer than --harakiri {seconds}s "
                   "and its worker was killed"),
          explanation=N_(
              "uWSGI's master ({unit}) killed worker {worker} (pid {pid}) because one request "
              "ran longer than --harakiri ({seconds}s), {n} time(s). The request dies with "
              "the worker, so nginx sees the connection close (`upstream prematurely closed "
              "connection`, 502); where nginx's read timeout is shorter, clients get 504 "
              "first. The unit stays active all along."),
          fix=N_("Make the slow request fast (move long work to a background job, add the "
                 "missing index or timeout), or raise --harakiri in {unit} together with "
                 "nginx's uwsgi_read_timeout/proxy_read_timeout."),
          commands=("{recent_logs} | grep -A4 HARAKIRI", "{longer}")))
def uwsgi_harakiri(facts: Facts, journal: tuple[JournalEntry, ...], units: tuple[Unit, ...],
                   nginx_errors: tuple[ErrorLogEntry, ...] = ()) -> Iterator[Found]:
    """`*** HARAKIRI ON WORKER 1 (pid: N, try: 1) ***`: the request in flight dies."""
    for unit in facts.web_units():
        logged = facts.journal_of(unit.name)
        hits = [(e, m) for e in logged if (m := UWSGI_HARAKIRI_RE.search(e.message))]
        if unit.server != "uwsgi" or not hits:
            continue
        last, m = hits[-1]
        request = [e.excerpt for e in logged if REQUEST_RE.search(e.message)][-1:]
        killed = [e.excerpt for e in logged if f"(pid: {m.group(2)}) died" in e.message]
        nginx, server, loc = _nginx_saw(facts, unit, nginx_errors)
        yield found([last.excerpt, *request, *killed[-1:],
                     Excerpt(unit.source, f"ExecStart: {_harakiri(unit)[1]}"), *nginx],
                    [Link("unit", unit.name), *place_links(server, loc)],
                    unit=unit.name, worker=m.group(1), pid=m.group(2),
                    seconds=_harakiri(unit)[0], n=len(hits),
                    longer=restart_with(unit, option=("--harakiri", "120")))


def _nginx_saw(facts: Facts, unit: Unit, nginx_errors: tuple[ErrorLogEntry, ...]
               ) -> tuple[list[Excerpt], ServerBlock | None, Location | None]:
    """nginx's newest line about a connection to the unit closing, and where it went."""
    eps = {b.label for b in unit.binds}
    seen = [e for e in nginx_errors if PREMATURE_RE.search(e.message) and e.upstream_label in eps]
    if not seen:
        return [], None, None
    return [seen[-1].excerpt], *facts.place(seen[-1])


def _harakiri(unit: Unit) -> tuple[str, str]:
    """uWSGI's --harakiri in the unit's ExecStart, and how it is written there."""
    for argv in unit.exec_start:
        for i, arg in enumerate(argv):
            if arg == "--harakiri" and i + 1 < len(argv):
                return argv[i + 1], f"{arg} {argv[i + 1]}"
            if arg.startswith("--harakiri="):
                return arg.split("=", 1)[1], arg
    return "?", "no --harakiri on the command line (set in an ini file?)"
