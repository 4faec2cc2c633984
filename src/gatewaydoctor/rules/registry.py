"""The rule registry: a decorator that records each rule's identity and checks it at load."""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Callable, Iterable

from ..categories import CATEGORIES
from ..errors import GatewayDoctorError
from ..facts import Facts, nginx_commands
from ..facts.managers import service_commands, service_words, systemd_unit
from ..findings import LAYERS, Excerpt, Finding, Fix, Link, Severity
from ..i18n import _, current_language
from . import render
from .spec import Found, Text, msg

ID_RE = re.compile(r"^GD-[A-Z]{3}-\d{3}$")
SYMBOL_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
ROLES = ("cause", "symptom")
FACT_NAMES = frozenset(f.name for f in fields(Facts)) - {"host", "target_url", "missing"}



class RegistryError(GatewayDoctorError):
    """A rule's declaration is invalid (bad ID, duplicate, unknown category...)."""


Detector = Callable[..., Iterable[Found]]
# A detector may also ask for the whole snapshot, for the predicates that live on it.
WHOLE = "facts"


@dataclass(frozen=True)
class Rule:
    """A registered rule: identity as data, its texts, and the detector."""

    id: str
    symbol: str
    category: str
    severity: Severity
    title: str
    role: str
    layer: str
    detector: Detector
    texts: Mapping[str, Text]
    # Categories this rule's finding explains: present together, those rank below it.
    explains: tuple[str, ...] = ()
    # The detector's parameters: (name, required); required ones must be present to run it.
    params: tuple[tuple[str, bool], ...] = ()
    module: str = ""

    @property
    def needs(self) -> tuple[str, ...]:
        """The facts the rule cannot be evaluated without."""
        return tuple(n for n, required in self.params if required and n != WHOLE)


REGISTRY: dict[str, Rule] = {}


def parameters(detector: Callable[..., object]) -> tuple[tuple[str, bool], ...]:
    """The detector's parameter names and whether each is required (has no default).

    Read from the code object: `inspect` costs milliseconds to import on every run.
    """
    code = detector.__code__
    names = code.co_varnames[:code.co_argcount]
    defaults = len(detector.__defaults__ or ())
    return tuple((n, i < len(names) - defaults) for i, n in enumerate(names))


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
    unknown = {n for n, _req in r.params if n != WHOLE}
    unknown -= FACT_NAMES
    if unknown:
        raise RegistryError(f"rule {r.id}: needs unknown facts {sorted(unknown)}")
    unknown_explained = set(r.explains) - set(CATEGORIES)
    if unknown_explained:
        raise RegistryError(f"rule {r.id}: explains unknown categories {sorted(unknown_explained)}")
    if not r.title.strip():
        raise RegistryError(f"rule {r.id}: empty title")
    if "default" not in r.texts:
        raise RegistryError(f"rule {r.id}: texts must include 'default'")
    for other in existing:
        if other.id == r.id:
            raise RegistryError(f"rule ID {r.id} is registered twice")
        if other.symbol == r.symbol:
            raise RegistryError(f"rule symbol {r.symbol!r} is used by {other.id} and {r.id}")
        if other.module == r.module:
            raise RegistryError(f"rule {r.id}: {r.module} already holds {other.id} (one rule "
                                f"per module)")


def rule(
    *, id: str, symbol: str, category: str, severity: Severity, title: str, layer: str,
    texts: Mapping[str, Text] | Text, role: str = "cause", explains: Sequence[str] = (),
) -> Callable[[Detector], Detector]:
    """Register a rule under a stable ID and symbol, with its texts, over its detector.

    The detector's parameters are named after Facts fields (required ones without a
    default, optional ones defaulted; `facts` asks for the whole snapshot) and the engine
    passes them in; it yields `found(...)` records the texts are filled from. `explains` names the
    categories this rule's finding is a deeper cause of (a database refusing logins
    explains `app.startup_failed` and `service.crash_loop`); when both are found, the
    explained ones rank below it.
    """

    def register(func: Detector) -> Detector:
        table = {"default": texts} if isinstance(texts, Text) else dict(texts)
        r = Rule(id, symbol, category, severity, title, role, layer, func, table,
                 tuple(explains), parameters(func), func.__module__)
        check(r, REGISTRY.values())
        REGISTRY[id] = r
        return func

    return register


def rule_modules() -> list[str]:
    """The modules that declare rules: one module per rule in each area folder of rules/
    (`rules/nginx/upstream_mismatch.py`), found by walking the folders."""
    import importlib
    import pkgutil

    package = importlib.import_module(__package__ or "")
    names: list[str] = []
    for area in pkgutil.iter_modules(package.__path__):
        if not area.ispkg or area.name == "__pycache__":
            continue
        folders = [f"{p}/{area.name}" for p in package.__path__]
        names += [f"{package.__name__}.{area.name}.{m.name}"
                  for m in pkgutil.iter_modules(folders) if not m.name.startswith("__")]
    return names


def all_rules() -> list[Rule]:
    """Every registered rule, by ID (importing the rule modules registers them)."""
    import importlib

    for name in rule_modules():
        importlib.import_module(name)  # cached after the first call
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
    # Commands that depend on how this host runs nginx, for every rule's fix.
    host = nginx_commands(facts.nginx_control)
    for r in rules:
        absent = [n for n in r.needs if getattr(facts, n) is None]
        if absent:
            why = "; ".join(f"{n}: {facts.missing.get(n, 'not gathered')}" for n in absent)
            skipped.append(Skipped(r.id, r.symbol,
                                   _("not evaluated, because {why}").format(why=why)))
            continue
        try:
            findings += _findings(r, facts, host)
        except Exception as exc:  # noqa: BLE001 - one broken rule must not sink the report
            at = traceback.extract_tb(exc.__traceback__)[-1]
            errors.append(Skipped(r.id, r.symbol, _(
                "internal error in rule {rule} ({symbol}): {error} at {where}").format(
                    rule=r.id, symbol=r.symbol, error=f"{type(exc).__name__}: {exc}",
                    where=f"{at.filename}:{at.lineno}")))
    return RuleRun(tuple(findings), tuple(skipped), tuple(errors))


def _findings(r: Rule, facts: Facts, host: Mapping[str, str]) -> list[Finding]:
    """Detect, then render each record in the reader's language."""
    kwargs: dict[str, object] = {}
    for name, _required in r.params:
        value = facts if name == WHOLE else getattr(facts, name)
        if value is not None:
            kwargs[name] = value
    out = []
    catalog = render.catalog(r.symbol, current_language())
    for f in r.detector(**kwargs):
        text = r.texts[f.text]
        values = {**_service(facts, f.values.get("unit")), **f.values}
        out.append(_stamp(r, f.role, render.fill(text.title, values, catalog), f.evidence,
                          render.fill(text.explanation, values, catalog),
                          render.fix(text, {**host, **values}, catalog), f.links, values))
    return out


def _service(facts: Facts, name: object) -> dict[str, object]:
    """The placeholders of the service a finding names (its `unit`), in its manager's words:
    {restart}, {logs}, {reconfigure}, {restarts}, ... (facts/managers.py)."""
    if not isinstance(name, str) or not name:
        return {}
    s = facts.unit(name) or systemd_unit(name)
    return {**service_commands(s), **{k: msg(v) for k, v in service_words(s).items()}}


def _stamp(r: Rule, role: str | None, title: str, evidence: tuple[Excerpt, ...],
           explanation: str, fix: Fix, links: tuple[Link, ...],
           values: Mapping[str, object]) -> Finding:
    """A finding with the rule's identity (and its detector's values, for a fix plan)."""
    return Finding(rule=r.id, symbol=r.symbol, category=r.category, severity=r.severity,
                   role=role or r.role, layer=r.layer, title=title, evidence=evidence,
                   explanation=explanation, fix=fix, links=links, explains=r.explains,
                   values=values)
