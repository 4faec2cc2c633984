"""Helpers shared by rules: journal searches, the unit behind an endpoint, excerpts."""

from __future__ import annotations

import re

from ...facts import Endpoint, Facts, JournalEntry, Traceback, Unit
from ...findings import Excerpt, Link

RESTART_RE = re.compile(r"Scheduled restart job, restart counter is at (\d+)")
EXITED_RE = re.compile(r"Main process exited, code=(\w+), status=(\S+)")
FAILED_RE = re.compile(r"Failed with result '([\w-]+)'")


def last_matching(entries: list[JournalEntry], pattern: re.Pattern[str]) -> JournalEntry | None:
    """The newest journal entry whose message matches pattern."""
    for e in reversed(entries):
        if pattern.search(e.message):
            return e
    return None


def journal_excerpt(e: JournalEntry) -> Excerpt:
    """An evidence line from a journal entry."""
    return Excerpt(e.source, e.message)


def latest_traceback(facts: Facts, unit: str, exc_types: tuple[str, ...]) -> Traceback | None:
    """The newest journal traceback of unit ending in one of exc_types, else the probe's."""
    tbs = [t for t in facts.tracebacks_of(unit) if t.exc_type.split(".")[-1] in exc_types]
    journal = [t for t in tbs if t.origin == "journal"]
    if journal:
        return journal[-1]
    return tbs[-1] if tbs else None


def tracebacks_by_unit(facts: Facts) -> dict[str, list[Traceback]]:
    """Tracebacks grouped by unit (unit-less ones are dropped)."""
    out: dict[str, list[Traceback]] = {}
    for t in facts.tracebacks or ():
        if t.unit:
            out.setdefault(t.unit, []).append(t)
    return out


def frame_excerpt(tb: Traceback) -> Excerpt | None:
    """The innermost `File "...", line N` frame and its code line, as one evidence line."""
    lines = tb.text.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        m = re.match(r'\s*File "([^"]+)", line (\d+)', lines[i])
        if m and not m.group(1).startswith("<frozen"):
            code = lines[i + 1].strip() if i + 1 < len(lines) else ""
            return Excerpt(f"{m.group(1)}:{m.group(2)}", code or lines[i].strip())
    return None


def units_serving(facts: Facts, target: Endpoint) -> list[Unit]:
    """Units whose server is configured to bind where target points."""
    return [u for u in facts.web_units() if any(b.accepts(target) for b in u.binds)]


def unit_links(units: list[Unit]) -> tuple[Link, ...]:
    """Links to units."""
    return tuple(Link("unit", u.name) for u in units)


def python_of(facts: Facts, unit: Unit) -> str:
    """The interpreter the unit runs, for fix commands."""
    for info in facts.pythons or ():
        if info.unit == unit.name and info.interpreter:
            return info.interpreter
    for probe in facts.import_probes or ():
        if probe.unit == unit.name:
            return probe.interpreter
    return unit.exec_start[0][0] if unit.exec_start and unit.exec_start[0] else "python3"


def supervised(unit: str) -> str | None:
    """The supervisor program name of a `supervisor:<name>` unit, else None."""
    return unit.split(":", 1)[1] if unit.startswith("supervisor:") else None


def restart_command(unit: str) -> str:
    """How to restart a unit: systemctl, or supervisorctl for a supervisor program."""
    program = supervised(unit)
    return f"supervisorctl restart {program}" if program else f"systemctl restart {unit}"


def logs_command(unit: str, lines: int = 50, journal_opts: str = "") -> str:
    """How to read a unit's recent output: journalctl, or supervisorctl tail for a program."""
    program = supervised(unit)
    if program:
        return f"supervisorctl tail -{lines * 120} {program} stderr"
    extra = f" {journal_opts}" if journal_opts else ""
    return f"journalctl -u {unit} -n {lines} --no-pager{extra}"


def status_command(unit: str) -> str:
    """How to see a unit's state: systemctl status, or supervisorctl status for a program."""
    program = supervised(unit)
    return f"supervisorctl status {program}" if program else f"systemctl status {unit} --no-pager"
