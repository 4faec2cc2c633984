"""The matrix: every fault family on every stack, diagnosed by the real CLI inside the lab."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from .families import FAMILIES
from .stacks import STACKS, boot, stop

LOUD = ("warning", "error", "critical")


@dataclass(frozen=True)
class Cell:
    stack: str
    family: str
    expected: str  # a category, or "healthy"
    found: str  # causes[0]'s category, "healthy", or what went wrong
    report: dict[str, Any]
    exit_code: int
    boot: float
    inject: float
    diagnose: float
    made: tuple[str, ...] = ()  # the mount points the stack made on the host (gone after)

    @property
    def ok(self) -> bool:
        return self.found == self.expected


def pairs(stacks: list[str] | None = None,
          families: list[str] | None = None) -> list[tuple[str, str, str | None]]:
    """(stack, family, reason it does not apply or None) in matrix order."""
    return [(s, f, FAMILIES[f].applies(STACKS[s])) for s in stacks or list(STACKS)
            for f in families or list(FAMILIES)]


def found_of(report: dict[str, Any]) -> str:
    """What the diagnosis says first: a category, `healthy`, or `healthy+warnings`."""
    if report.get("verdict") == "healthy":
        loud = [f for f in report.get("findings", []) if f.get("severity") in LOUD]
        return "healthy+warnings" if loud else "healthy"
    causes = report.get("causes") or []
    return causes[0]["category"] if causes else str(report.get("verdict"))


def run_cell(stack: str, family: str, doctor: list[str]) -> Cell:
    """Boot the stack, inject the family, run `doctor diagnose [URL] --json` inside."""
    fam = FAMILIES[family]
    t0 = time.monotonic()
    deployed = boot(stack)
    try:
        t1 = time.monotonic()
        fam.inject(deployed)
        url = fam.url(deployed)
        t2 = time.monotonic()
        proc = deployed.lab.run([*doctor, "diagnose", *([url] if url else []), "--json"],
                                timeout=120)
        t3 = time.monotonic()
    finally:
        stop(deployed)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        report = {"verdict": f"no JSON (exit {proc.returncode}): {proc.stderr[-300:]}"}
    return Cell(stack, family, fam.category or "healthy", found_of(report), report,
                proc.returncode, t1 - t0, t2 - t1, t3 - t2, tuple(deployed.made))
