"""The registry: declarations checked at load, fixtures for every rule, containment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RULE_FIXTURES

from gatewaydoctor.evidence import load
from gatewaydoctor.facts import Facts
from gatewaydoctor.findings import Hit, Severity
from gatewaydoctor.parse import build_facts
from gatewaydoctor.rules import registry
from gatewaydoctor.rules.registry import RegistryError, Rule, all_rules, check, run_rules

RULES = all_rules()


def _fixtures(prefix: str) -> list[tuple[Rule, Path]]:
    return [(r, p) for r in RULES
            for p in sorted((RULE_FIXTURES / r.symbol).glob(f"{prefix}_*.json"))]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.symbol)
def test_every_rule_has_both_fixtures(rule: Rule) -> None:
    folder = RULE_FIXTURES / rule.symbol
    assert list(folder.glob("fires_*.json")), f"{rule.id} has no {folder}/fires_*.json"
    assert list(folder.glob("healthy_*.json")), f"{rule.id} has no {folder}/healthy_*.json"


@pytest.mark.parametrize(("rule", "path"), _fixtures("fires"), ids=lambda x: getattr(
    x, "name", getattr(x, "symbol", "")))
def test_fires(rule: Rule, path: Path) -> None:
    facts = build_facts(load(path))
    run = run_rules(facts, [rule])
    assert not run.not_evaluated and not run.errors
    assert run.findings, f"{rule.symbol} did not fire on {path.name}"
    for f in run.findings:
        assert f.evidence and f.fix.summary and f.links
        assert all(e.source and e.text for e in f.evidence)


@pytest.mark.parametrize(("rule", "path"), _fixtures("healthy"), ids=lambda x: getattr(
    x, "name", getattr(x, "symbol", "")))
def test_does_not_fire(rule: Rule, path: Path) -> None:
    run = run_rules(build_facts(load(path)), [rule])
    assert not run.errors and not run.not_evaluated
    assert not run.findings, [f.title for f in run.findings]


def _noop(facts: Facts) -> Iterator[Hit]:
    return iter(())


def _rule(**kw: object) -> Rule:
    base: dict[str, object] = dict(id="GD-TST-001", symbol="test-rule", category="probe.failed",
                                   severity=Severity.ERROR, needs=(), title="t", role="cause",
                                   layer="url", func=_noop)
    base.update(kw)
    return Rule(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kw", "message"), [
    ({"id": "GD-1"}, "ID must look like"),
    ({"symbol": "Bad_Symbol"}, "symbol"),
    ({"category": "app.nonsense"}, "not in the vocabulary"),
    ({"needs": ("nope",)}, "unknown facts"),
    ({"id": "GD-APP-001"}, "registered twice"),
    ({"symbol": "relative-import"}, "used by GD-APP-001"),
])
def test_registry_rejects(kw: dict[str, object], message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        check(_rule(**kw), registry.REGISTRY.values())


def test_crashing_rule_is_contained_and_missing_facts_reported() -> None:
    def boom(facts: Facts) -> Iterator[Hit]:
        raise KeyError("x")

    facts = build_facts(load(RULE_FIXTURES / "crash-loop" / "healthy_uvicorn.json"))
    run = run_rules(facts, [_rule(func=boom), _rule(id="GD-TST-002", symbol="other",
                                                    needs=("units",))])
    assert run.errors[0].reason.startswith("internal error in rule GD-TST-001")
    assert not run.not_evaluated
    no_units = Facts(**{**facts.__dict__, "units": None, "missing": {"units": "systemctl: gone"}})
    run = run_rules(no_units, [_rule(needs=("units",))])
    assert run.not_evaluated[0].reason == "not evaluated, because units: systemctl: gone"
