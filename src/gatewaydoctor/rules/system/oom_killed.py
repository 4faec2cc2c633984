"""The kernel's OOM killer ended the app (the host's memory, or the unit's MemoryMax=)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import EXITED_RE, Facts, JournalEntry, Unit
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Cmd, Found, Msg, Text, found, msg

# The kernel (mm/oom_kill.c) and systemd (the unit's result) on an OOM kill.
OOM_RE = re.compile(r"(Out of memory|Memory cgroup out of memory): Killed process (\d+) "
                    r"\(([^)]+)\)")
OOM_UNIT_RE = re.compile(r"A process of this unit has been killed by the OOM killer"
                         r"|Failed with result 'oom-kill'")
# A kill and the unit noticing it land within this many seconds of each other.
OOM_WINDOW = 15.0
EXPLAINS = ("app.startup_failed", "service.crash_loop", "service.start_limit_hit",
            "service.not_running", "upstream.unreachable", "probe.failed", "upstream.timeout")
EXPLANATION = N_(
    "The app in {unit} used more than {what}, so the kernel killed it with SIGKILL. The "
    "request in flight gets 502 (`upstream prematurely closed connection`), and systemd "
    "restarts it until the next request that needs that much memory.")
FIX = N_("Find what allocates that much (a whole table or file read into memory) and stream "
         "or paginate it; or raise the limit if the app really needs it.")
COMMANDS = ("systemctl show {unit} -p MemoryMax -p MemoryLimit -p MemoryCurrent",
            "journalctl -k --grep 'Killed process' --no-pager -n 20",
            Cmd("systemctl edit {unit}", N_("[Service] MemoryMax=<more>, then {command}")))


@rule(id="GD-SYS-001", symbol="oom-killed", category="system.oom_killed",
      severity=Severity.ERROR, layer="system", explains=EXPLAINS,
      title=N_("The kernel OOM killer ended the app"),
      texts={"default": Text(N_("{unit}: the OOM killer killed {victim}"), EXPLANATION, FIX,
                             COMMANDS),
             "repeated": Text(N_("{unit}: the OOM killer killed {victim}, {count} times"),
                              EXPLANATION, FIX, COMMANDS)})
def oom_killed(units: tuple[Unit, ...], journal: tuple[JournalEntry, ...],
               facts: Facts) -> Iterator[Found]:
    """A kernel `Killed process` line that the app's unit saw as SIGKILL (or `oom-kill`)."""
    kills = [e for e in journal if e.unit is None and OOM_RE.search(e.message)]
    for unit in facts.web_units():
        exits = _killed_exits(facts, unit)
        exit_line = _last_oom_exit(exits, kills)
        if exit_line is None:
            continue
        near = _near(kills, exit_line)[-1:]
        count = _explained(exits, kills)
        yield found([*(Excerpt("journalctl -k", k.message.strip()) for k in near),
                     Excerpt(exit_line.source, exit_line.message.strip())],
                    (Link("unit", unit.name), Link("log", exit_line.message)),
                    text="repeated" if count > 1 else "default", unit=unit.name, count=count,
                    command=f"systemctl restart {unit.name}",
                    **_victim(near))


def _victim(near: list[JournalEntry]) -> dict[str, Msg]:
    """Who was killed, and whose memory ran out (the host's, or a cgroup limit)."""
    m = OOM_RE.search(near[0].message) if near else None
    if m is None:
        return {"what": msg(N_("the host's memory")), "victim": msg(N_("the app"))}
    return {"what": msg(N_("its memory limit (MemoryMax=/MemoryLimit= of the unit or "
                           "container)")) if m.group(1).startswith("Memory cgroup")
            else msg(N_("the host's memory")),
            "victim": msg(N_("{process} (pid {pid})"), process=m.group(3), pid=m.group(2))}


def _last_oom_exit(exits: list[JournalEntry],
                   kills: list[JournalEntry]) -> JournalEntry | None:
    """The newest exit that a kernel kill explains, or that systemd blames on the OOM killer."""
    return next((e for e in reversed(exits)
                 if _near(kills, e) or OOM_UNIT_RE.search(e.message)), None)


def _explained(exits: list[JournalEntry], kills: list[JournalEntry]) -> int:
    """How many of the exits a kernel kill explains."""
    return sum(1 for e in exits if e.time is not None and _near(kills, e))


def _killed_exits(facts: Facts, unit: Unit) -> list[JournalEntry]:
    """The unit's exits by SIGKILL, or systemd saying the OOM killer struck."""
    out = []
    for e in facts.journal_of(unit.name):
        m = EXITED_RE.search(e.message)
        if (m and m.group(1) == "killed" and m.group(2).startswith("9")) or \
                OOM_UNIT_RE.search(e.message):
            out.append(e)
    return out


def _near(kills: list[JournalEntry], exit_line: JournalEntry) -> list[JournalEntry]:
    """Kernel kills within OOM_WINDOW of an exit."""
    t = exit_line.time or 0.0
    return [k for k in kills if k.time is not None and abs(k.time - t) <= OOM_WINDOW]
