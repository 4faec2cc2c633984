"""The kernel's OOM killer ends a server's workers (gunicorn, uWSGI) while the master stays up
(and "active")."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import Facts, JournalEntry, Unit
from ...facts.signatures import WORKER_DIED_RE, WORKER_KILLS
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Cmd, Found, Msg, Text, found, msg

# Per server, its line for a worker that died of SIGKILL and for one it killed itself for a
# timeout (gunicorn WORKER TIMEOUT, uWSGI HARAKIRI: SIGABRT or SIGTERM, then SIGKILL), which is
# not the kernel (facts/signatures.py: gunicorn arbiter.py, uWSGI core/master.c).
# mm/oom_kill.c; the pid is the host's, which differs from gunicorn's inside a container.
KERNEL_RE = re.compile(r"(Out of memory|Memory cgroup out of memory): Killed process (\d+) ")
OOM_WINDOW = 15.0


EXPLANATION = (N_(
    "The kernel killed {unit}'s {server} workers (SIGKILL) when they used more than {what}. "
    "The master process lives on and starts new workers, so {shown_active}, "
    "but each request in flight gets 502 (`upstream prematurely closed connection`)."),
    "{kernel_note}")
FIX = N_("Find what allocates that much in one request (a whole table or file read into "
         "memory) and stream or paginate it; or raise the limit, or run fewer workers.")
COMMANDS = ("systemctl show {systemd_unit} -p MemoryMax -p MemoryCurrent",
            "journalctl -k --grep 'Killed process' --no-pager -n 20",
            Cmd("systemctl edit {systemd_unit}", N_("[Service] MemoryMax=<more>, then {command}")),
            "{rerun}")


@rule(id="GD-SYS-004", symbol="worker-oom-killed", category="system.oom_killed",
      severity=Severity.ERROR, layer="system", explains=("probe.failed", "upstream.timeout"),
      title=N_("The OOM killer ends a server's workers while the master stays up"),
      texts={"default": Text(N_("{unit}: a {server} worker was killed (SIGKILL) while the "
                                "master stays active"), EXPLANATION, FIX, COMMANDS),
             "repeated": Text(N_("{unit}: {server} workers were killed (SIGKILL) {count} times "
                                 "while the master stays active"), EXPLANATION, FIX, COMMANDS)})
def worker_oom_killed(units: tuple[Unit, ...], journal: tuple[JournalEntry, ...],
                      facts: Facts) -> Iterator[Found]:
    """gunicorn's `Worker (pid:N) was sent SIGKILL! Perhaps out of memory?`, uWSGI's `DAMN !
    worker 1 (pid: N) died, killed by signal 9`, for a worker the server did not time out."""
    kills = [e for e in journal if e.unit is None and KERNEL_RE.search(e.message)]
    for unit in facts.web_units():
        logged = facts.journal_of(unit.name)
        lines = _oom_kills(logged, unit.server or "") or _died_killed(logged, kills)
        if not lines:
            continue
        kernel = _near(kills, lines[-1])[-1:]
        yield found([*(Excerpt("journalctl -k", k.message.strip()) for k in kernel),
                     lines[-1].excerpt],
                    (Link("unit", unit.name), Link("log", lines[-1].message)),
                    text="repeated" if len(lines) > 1 else "default", unit=unit.name,
                    count=len(lines), command=unit.restart_command, server=unit.server,
                    **_whose_memory(kernel))


def _whose_memory(kernel: list[JournalEntry]) -> dict[str, Msg | None]:
    """Whose memory ran out (a cgroup limit, or the host's), or a note that the kernel's own
    line was not found (then something else may have sent SIGKILL)."""
    if not kernel:
        return {"what": msg(N_("the host's memory")), "kernel_note": msg(N_(
            "No kernel OOM line was found near it: look for another sender of SIGKILL too."))}
    if kernel[0].message.startswith("Memory cgroup"):
        return {"what": msg(N_("its memory limit (MemoryMax=/MemoryLimit= of the unit or "
                               "container)")), "kernel_note": None}
    return {"what": msg(N_("the host's memory")), "kernel_note": None}


def _oom_kills(entries: list[JournalEntry], server: str) -> list[JournalEntry]:
    """The server's SIGKILL lines for workers it did not time out itself."""
    if server not in WORKER_KILLS:
        return []
    killed, kg, timeout, tg = WORKER_KILLS[server]
    timed_out = {m.group(tg) for e in entries if (m := timeout.search(e.message))}
    return [e for e in entries
            if (m := killed.search(e.message)) and m.group(kg) not in timed_out]


def _died_killed(entries: list[JournalEntry], kills: list[JournalEntry]) -> list[JournalEntry]:
    """A worker death that names no signal (uvicorn `Child process [N] died`, gunicorn
    `exited with code`), of a pid the kernel's OOM killer killed."""
    killed = {m.group(2) for k in kills if (m := KERNEL_RE.search(k.message))}
    return [e for e in entries if (m := WORKER_DIED_RE.search(e.message))
            and killed.intersection(g for g in m.groups() if g)]


def _near(kills: list[JournalEntry], line: JournalEntry) -> list[JournalEntry]:
    """The kernel's kills within OOM_WINDOW of gunicorn's line."""
    return [k for k in kills if k.time is not None and line.time is not None
            and abs(k.time - line.time) <= OOM_WINDOW]
