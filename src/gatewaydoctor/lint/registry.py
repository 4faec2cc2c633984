"""The checks and their identities.

A check that finds the static cause of a diagnose rule's failure mode reports under that
rule's ID, symbol and category (proxy_pass to an unbound port is GD-NGX-003
upstream-mismatch, whether diagnose sees the 502 or lint sees the file). A mistake no
diagnose rule has (root user, missing proxy headers, a relative path) has an identity of its
own, `GD-LNT-nnn`, kept here rather than in the diagnose registry: that registry's meta-tests
ask every rule for a live recording it fires on, and these are found in files only.
`gatewaydoctor rules` and `explain` list and print both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable

from ..categories import CATEGORIES
from ..errors import GatewayDoctorError
from ..findings import Severity
from ..rules.spec import Template
from .model import Hit, Inputs

LINT_ID_RE = re.compile(r"^GD-LNT-\d{3}$")
# Categories of the mistakes only lint sees (DESIGN.md's vocabulary covers the others).
LINT_CATEGORIES = {
    "service.relative_path": "a path in a unit or program that is not absolute",
    "service.runs_as_root": "the app runs as root (no User=, or root)",
    "nginx.proxy_headers": "proxy_pass without the Host / X-Forwarded-* headers the app needs",
    "nginx.protocol_mismatch": "uwsgi_pass to an HTTP socket, or proxy_pass to a uwsgi one",
}


class CheckError(GatewayDoctorError):
    """A check's declaration is invalid."""


@dataclass(frozen=True)
class Identity:
    """A lint-only rule identity: what `gatewaydoctor rules` lists for it."""

    id: str
    symbol: str
    category: str
    severity: Severity
    title: str
    role: str = "cause"
    layer: str = "unit"  # where on the request path the mistake sits (findings.LAYERS)


Detector = Callable[[Inputs], Iterable[Hit]]


@dataclass(frozen=True)
class Check:
    """A registered check: the rule it reports under, its severity and message, its detector."""

    id: str
    symbol: str
    category: str
    severity: Severity
    message: Template
    detector: Detector
    module: str
    title: str = ""  # lint-only identities: the rule's title


CHECKS: dict[str, Check] = {}
IDENTITIES: dict[str, Identity] = {}


def _verify(c: Check) -> None:
    """Raise CheckError when the declaration does not match the rule it names."""
    from ..rules import REGISTRY, all_rules

    all_rules()
    shared = REGISTRY.get(c.id)
    if shared is not None and (shared.symbol, shared.category) != (c.symbol, c.category):
        raise CheckError(f"check {c.module}: {c.id} is {shared.symbol} "
                         f"({shared.category}) in the diagnose registry")
    if shared is None:
        _verify_own(c)
    if any(o.module == c.module for o in CHECKS.values()):
        raise CheckError(f"check {c.module}: one check per module")
    other = IDENTITIES.get(c.id)
    if other is not None and other.symbol != c.symbol:
        raise CheckError(f"check {c.module}: {c.id} is also called {other.symbol}")


def _verify_own(c: Check) -> None:
    """A lint-only identity: GD-LNT-nnn, a known category, a title."""
    if not LINT_ID_RE.match(c.id):
        raise CheckError(f"check {c.module}: {c.id} is no diagnose rule and not GD-LNT-nnn")
    if c.category not in LINT_CATEGORIES and c.category not in CATEGORIES:
        raise CheckError(f"check {c.module}: unknown category {c.category!r}")
    if not c.title:
        raise CheckError(f"check {c.module}: a lint-only rule needs a title")


def check(*, id: str, symbol: str, category: str, severity: Severity, message: Template,
          title: str = "") -> Callable[[Detector], Detector]:
    """Register a check over its detector: `@check(id="GD-NGX-003", symbol=...,
    category=..., severity=..., message=N_("..."))`; `title` for a lint-only rule."""

    def register(func: Detector) -> Detector:
        c = Check(id, symbol, category, severity, message, func, func.__module__, title)
        _verify(c)
        CHECKS[func.__module__] = c
        if LINT_ID_RE.match(id):
            layer = "nginx" if category.startswith("nginx.") else "unit"
            IDENTITIES[id] = Identity(id, symbol, category, severity, title, layer=layer)
        return func

    return register


def all_checks() -> list[Check]:
    """Every check (importing `lint/checks/*` registers them), by rule ID then module."""
    import importlib
    import pkgutil

    from . import checks

    for m in pkgutil.iter_modules(checks.__path__):
        importlib.import_module(f"{checks.__name__}.{m.name}")
    return sorted(CHECKS.values(), key=lambda c: (c.id, c.module))


def lint_rules() -> list[Identity]:
    """The lint-only rule identities, by ID."""
    all_checks()
    return sorted(IDENTITIES.values(), key=lambda i: i.id)
