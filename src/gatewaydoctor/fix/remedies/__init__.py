"""Remedies: one module per failure mode that has a fix, registered by the rule symbols it
fixes. A remedy reads the cause (its values, as the rule's detector found them) and the facts,
and returns steps: commands of the service's own manager, file edits, or what a person must
do. It never runs anything; `fix/run.py` does, and only with `--apply`.

Remedy modules never import each other (as rule modules do not).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable, Sequence

from ...diagnose import Diagnosis
from ...facts import Facts
from ...findings import Finding
from ...i18n import _
from ..host import Host
from ..steps import Manual, Plan, Remedy, Step

Detector = Callable[[Finding, Facts, Host], Sequence[Step]]


@dataclass(frozen=True)
class RemedySpec:
    """A remedy: the rule symbols it fixes, how its fix is verified (N_ text), its steps."""

    symbols: tuple[str, ...]
    verify: str
    steps: Detector


REMEDIES: dict[str, RemedySpec] = {}


def remedy(*symbols: str, verify: str) -> Callable[[Detector], Detector]:
    """Register a remedy for the rules named (a symbol fixed twice is a programming error)."""
    def register(steps: Detector) -> Detector:
        spec = RemedySpec(symbols, verify, steps)
        for symbol in symbols:
            if symbol in REMEDIES:
                raise ValueError(f"two remedies for {symbol}")
            REMEDIES[symbol] = spec
        return steps

    return register


def load() -> dict[str, RemedySpec]:
    """Every remedy module, imported (registering is the import's effect)."""
    if not REMEDIES:
        for info in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{info.name}")
    return REMEDIES


def plan(diagnosis: Diagnosis, facts: Facts, host: Host) -> Plan:
    """The fix of a diagnosis: a remedy for each cause, in the causes' order. A cause no
    remedy can carry out (or one not safe to automate) gets its report's fix as the step a
    person takes."""
    remedies: list[Remedy] = []
    unfixed: list[str] = []
    for cause in _roots(diagnosis.causes):
        spec = load().get(cause.symbol)
        steps = tuple(spec.steps(cause, facts, host)) if spec else ()
        if not steps:
            unfixed.append(cause.symbol)
            steps = (Manual(cause.fix.summary, cause.fix.commands),)
        verify = _(spec.verify) if spec else ""
        remedies.append(Remedy(cause.rule, cause.symbol, cause.category, cause.title, steps,
                               verify, tuple(f"{k.kind}:{k.value}" for k in cause.links)))
    units = sorted({u for r in remedies for u in _systemd_units(r, facts)})
    return Plan(diagnosis.host, diagnosis.target_url, diagnosis.verdict, tuple(remedies),
                tuple(unfixed), tuple(units))


def _roots(causes: Sequence[Finding]) -> list[Finding]:
    """The root causes, and the causes no earlier one explains: a symptom goes once its
    cause is fixed (only symptoms: the first of them, which says where to look)."""
    roots = [c for c in causes if c.role != "symptom"]
    if not roots:
        return list(causes[:1])
    out: list[Finding] = []
    for cause in roots:
        if not any(cause.category in earlier.explains for earlier in out):
            out.append(cause)
    return out


def _systemd_units(r: Remedy, facts: Facts) -> list[str]:
    """The systemd units a remedy names (whose enablement a rollback restores)."""
    names = [s.split(":", 1)[1] for s in r.subject if s.startswith("unit:")]
    return [n for n in names if (u := facts.unit(n)) is not None and u.manager == "systemd"]


def systemd_units_of(cause: Finding, facts: Facts) -> list[str]:
    """The systemd units a cause names (its `unit` links), for the remedies of systemd."""
    return [link.value for link in cause.links if link.kind == "unit"
            if (u := facts.unit(link.value)) is not None and u.manager == "systemd"]
