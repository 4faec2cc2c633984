"""What the legacy rules still import about services (the service rules are in rules/service)."""

from __future__ import annotations

from ...categories import LOOP_SYMPTOMS
from ...facts import Facts, JournalEntry, Unit
from .common import EXITED_RE, RESTART_RE

__all__ = ["LOOP_SYMPTOMS", "crash_looping", "failing", "since_last_start"]


def since_last_start(facts: Facts, unit: str) -> list[JournalEntry]:
    """The unit's journal from its last `Started`/`Starting` line on (else its last 30 lines).

    In a restart loop that is the last attempt, up to its exit.
    """
    entries = facts.journal_of(unit)
    for i in range(len(entries) - 1, -1, -1):
        msg = entries[i].message
        if entries[i].identifier == "systemd" and (msg.startswith("Started ") or
                                                   msg.startswith("Starting ")):
            return entries[i:]
    return entries[-30:]


def crash_looping(facts: Facts, u: Unit) -> bool:
    """Restarting again and again: auto-restart now, or restarts still being scheduled."""
    if u.sub_state == "auto-restart":
        return True
    if u.active_state in ("inactive", "failed") or u.n_restarts < 2:
        return False
    entries = facts.journal_of(u.name)
    systemd_lines = [e for e in entries if EXITED_RE.search(e.message) or
                     RESTART_RE.search(e.message) or "Started " in e.message]
    # Type=simple units read as active/running for the instant between start and crash;
    # the journal tells whether the last thing that happened was a crash.
    return bool(systemd_lines) and not systemd_lines[-1].message.lstrip().startswith("Started")


def failing(facts: Facts, u: Unit | None) -> bool:
    """Tell whether a unit is down or restarting (an unknown unit counts as failing)."""
    if u is None:
        return True
    return not (u.active_state == "active" and u.sub_state == "running") or \
        crash_looping(facts, u)
