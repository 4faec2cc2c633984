"""Workers die while serving requests and the master starts new ones: the unit stays "active",
nginx logs `upstream prematurely closed connection` for every such request."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import (
    ErrorLogEntry,
    Facts,
    JournalEntry,
    Location,
    ServerBlock,
    Traceback,
    Unit,
    place_links,
)
from ...facts.signatures import WORKER_DIED_RE, WORKER_TIMEOUTS
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Text, found, msg

# ngx_http_upstream.c process_header (n == 0) and a reset: the worker went away mid-request.
PREMATURE_RE = re.compile(r"upstream prematurely closed connection|recv\(\) failed \(104: ")
# mm/oom_kill.c: the kernel's own kill names the pid.
KERNEL_OOM_RE = re.compile(r"(Out of memory|Memory cgroup out of memory): Killed process (\d+) ")
# gunicorn's boot failures (3: worker failed to boot, 4: app failed to load) are not requests.
BOOT_EXIT = re.compile(r"exited with code [34]\.")


@rule(id="GD-NGX-014", symbol="worker-crash-loop", category="service.crash_loop",
      severity=Severity.ERROR, layer="process", explains=("probe.failed", "upstream.unreachable"),
      title=N_("Workers die while serving requests, and the master starts new ones"),
      texts=Text(
          title=N_("{unit}: {server} workers died {count} time(s) while serving requests; "
                   "the master stays active"),
          explanation=(N_(
              "{unit}'s {server} master is up ({shown_active}), but its workers die "
              "while serving a request (`{line}`): that request gets 502 from nginx "
              "(`upstream prematurely closed connection`), and the master starts a new worker, "
              "which dies again on the next such request. The worker exited or crashed on its "
              "own: not the OOM killer, not a timeout."), "{raised}"),
          fix=N_("Find what ends the worker inside the request: the app's last traceback, "
                 "`os._exit()`/`sys.exit()` in a handler, a C extension that crashes. Send the "
                 "failing request to one worker run in the foreground to see it."),
          commands=("{logs}", "{restart}")))
def worker_crash_loop(facts: Facts, journal: tuple[JournalEntry, ...], units: tuple[Unit, ...],
                      nginx_errors: tuple[ErrorLogEntry, ...] = ()) -> Iterator[Found]:
    """gunicorn `Worker (pid:N) exited with code 1.`, uWSGI `DAMN ! worker 1 (pid: N) died
    :(`, uvicorn `Child process [N] died`, granian `Unexpected exit from worker-1`, while the
    unit is active and nginx sees its connections close."""
    for unit in facts.web_units():
        deaths = _deaths(facts.journal_of(unit.name), unit.server or "", journal)
        nginx, server, loc = _nginx_saw(facts, unit, nginx_errors)
        if facts.failing(unit) or not deaths or not nginx:
            continue
        tb = _traceback(facts, unit, deaths[-1])
        yield found([*nginx, deaths[-1].excerpt, *(tb.app_excerpts if tb else ())],
                    [Link("unit", unit.name), Link("log", deaths[-1].message),
                     *place_links(server, loc)],
                    unit=unit.name, server=unit.server, count=len(deaths),
                    line=deaths[-1].message, logs=unit.logs_command(80, "-o cat"),
                    raised=msg(N_("The app's last traceback before it ends with `{last}`."),
                               last=tb.last_line) if tb else None)


def _deaths(entries: list[JournalEntry], server: str,
            journal: tuple[JournalEntry, ...]) -> list[JournalEntry]:
    """Worker deaths the server logged: not boot failures, not workers it timed out itself,
    not pids the kernel's OOM killer killed (worker-oom-killed's)."""
    timeout = WORKER_TIMEOUTS.get(server)
    gone = {m.group(timeout[1]) for e in entries
            if timeout and (m := timeout[0].search(e.message))}
    gone |= {m.group(2) for e in journal if e.unit is None and (m := KERNEL_OOM_RE.search(
        e.message))}
    return [e for e in entries if (m := WORKER_DIED_RE.search(e.message))
            and not BOOT_EXIT.search(e.message)
            and not gone.intersection(g for g in m.groups() if g)]


def _traceback(facts: Facts, unit: Unit, death: JournalEntry) -> Traceback | None:
    """The unit's newest journal traceback up to the death."""
    tbs = [t for t in facts.tracebacks_of(unit.name)
           if t.origin == "journal" and (t.time or 0) <= (death.time or 0)]
    return tbs[-1] if tbs else None


def _nginx_saw(facts: Facts, unit: Unit, nginx_errors: tuple[ErrorLogEntry, ...]
               ) -> tuple[list[Excerpt], ServerBlock | None, Location | None]:
    """nginx's newest line about a connection to the unit closing, and where it went."""
    eps = {b.label for b in unit.binds}
    seen = [e for e in nginx_errors if PREMATURE_RE.search(e.message) and e.upstream_label in eps]
    if not seen:
        return [], None, None
    return [seen[-1].excerpt], *facts.place(seen[-1])
