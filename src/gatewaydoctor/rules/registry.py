"""The rule registry: a decorator that records each rule's identity and checks it at load."""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields

from ..categories import CATEGORIES
from ..errors import GatewayDoctorError
from ..facts import Facts
from ..findings import LAYERS, Finding, Hit, Severity
from ..i18n import _

ID_RE = re.compile(r"^GD-[A-Z]{3}-\d{3}$")
SYMBOL_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
ROLES = ("cause", "symptom")
FACT_NAMES = frozenset(f.name for f in fields(Facts)) - {"host", "target_url", "missing"}

RuleFunc = Callable[[Facts], Iterable[Hit]]


class RegistryError(GatewayDoctorError):
    """A rule's declaration is invalid (bad ID, duplicate, unknown category...)."""


@dataclass(frozen=True)
class Rule:
    """A registered rule: identity as data, plus the pure function."""

    id: str
    symbol: str
    category: str
    severity: Severity
    needs: tuple[str, ...]
    title: str
    role: str
    layer: str
    func: RuleFunc
    # Categories this rule's finding explains: present together, those rank below it.
    explains: tuple[str, ...] = ()


REGISTRY: dict[str, Rule] = {}


def check(r: Rule, existing: Iterable[Rule]) -> None:
    """Raise RegistryError naming the rule if its declaration is invalid."""
    if not ID_RE.match(r.id):
        raise RegistryError(f"rule {r.id!r}: ID must look like GD-ABC-001")
    if not SYMBOL_RE.match(r.symbol):
        raise RegistryError(f"rule {r.id}: symbol {r.symbol!r} must be lower-case-with-dashes")
    if r.category not in CATEGORIES:
        raise RegistryError(f"rule {r.id}: category {r.category!r} is not in the vocabulary")
    if r.role not in ROLES:
        raise RegistryError(f"rule {r.id}: role {r.role!r} must be one of {ROLES}")
    if r.layer not in LAYERS:
        raise RegistryError(f"rule {r.id}: layer {r.layer!r} must be one of {LAYERS}")
    unknown = set(r.needs) - FACT_NAMES
    if unknown:
        raise RegistryError(f"rule {r.id}: needs unknown facts {sorted(unknown)}")
    unknown_explained = set(r.explains) - set(CATEGORIES)
    if unknown_explained:
        raise RegistryError(f"rule {r.id}: explains unknown categories {sorted(unknown_explained)}")
    if not r.title.strip():
        raise RegistryError(f"rule {r.id}: empty title")
    for other in existing:
        if other.id == r.id:
            raise RegistryError(f"rule ID {r.id} is registered twice")
        if other.symbol == r.symbol:
            raise RegistryError(f"rule symbol {r.symbol!r} is used by {other.id} and {r.id}")


def rule(
    *, id: str, symbol: str, category: str, severity: Severity, needs: Sequence[str],
    title: str, layer: str, role: str = "cause", explains: Sequence[str] = (),
) -> Callable[[RuleFunc], RuleFunc]:
    """Register a rule function under a stable ID and symbol.

    `explains` names the categories this rule's finding is a deeper cause of (a
    database refusing logins explains `app.startup_failed` and `service.crash_loop`);
    when both are found, the explained ones rank below it.
    """

    def register(func: RuleFunc) -> RuleFunc:
        r = Rule(id, symbol, category, severity, tuple(needs), title, role, layer, func,
                 tuple(explains))
        check(r, REGISTRY.values())
        REGISTRY[id] = r
        return func

    return register


def all_rules() -> list[Rule]:
    """Every registered rule, by ID (importing the rule modules registers them)."""
    from . import (  # noqa: F401
        app,
        config,
        database,
        network,
        nginx,
        permission,
        port,
        probe,
        security,
        service,
        supervisor,
        system,
    )

    return sorted(REGISTRY.values(), key=lambda r: r.id)


def select(rules: list[Rule], only: Sequence[str] = (), skip: Sequence[str] = ()) -> list[Rule]:
    """Filter rules by ID or symbol; raise RegistryError for a name that matches no rule."""
    known = {r.id for r in rules} | {r.symbol for r in rules}
    for name in (*only, *skip):
        if name not in known:
            raise RegistryError(_("no rule is called {name} (see `gatewaydoctor rules`)").format(
                name=repr(name)))
    if only:
        rules = [r for r in rules if r.id in only or r.symbol in only]
    return [r for r in rules if r.id not in skip and r.symbol not in skip]


@dataclass(frozen=True)
class Skipped:
    """A rule that was not evaluated, and why."""

    rule: str
    symbol: str
    reason: str


@dataclass(frozen=True)
class RuleRun:
    """The outcome of running rules over facts."""

    findings: tuple[Finding, ...]
    not_evaluated: tuple[Skipped, ...]
    errors: tuple[Skipped, ...]


def run_rules(facts: Facts, rules: Iterable[Rule]) -> RuleRun:
    """Run each rule whose facts are present; contain a crashing rule as an internal error."""
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    errors: list[Skipped] = []
    for r in rules:
        absent = [n for n in r.needs if getattr(facts, n) is None]
        if absent:
            why = "; ".join(f"{n}: {facts.missing.get(n, 'not gathered')}" for n in absent)
            skipped.append(Skipped(r.id, r.symbol,
                                   _("not evaluated, because {why}").format(why=why)))
            continue
        try:
            hits = list(r.func(facts))
        except Exception as exc:  # noqa: BLE001 - one broken rule must not sink the report
            at = traceback.extract_tb(exc.__traceback__)[-1]
            errors.append(Skipped(r.id, r.symbol, _(
                "internal error in rule {rule} ({symbol}): {error} at {where}").format(
                    rule=r.id, symbol=r.symbol, error=f"{type(exc).__name__}: {exc}",
                    where=f"{at.filename}:{at.lineno}")))
            continue
        for h in hits:
            findings.append(Finding(
                rule=r.id, symbol=r.symbol, category=r.category, severity=r.severity,
                role=h.role or r.role, layer=r.layer, title=h.title, evidence=h.evidence,
                explanation=h.explanation, fix=h.fix, links=h.links, explains=r.explains,
            ))
    return RuleRun(tuple(findings), tuple(skipped), tuple(errors))
