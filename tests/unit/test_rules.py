"""The registry: declarations checked at load, fixtures for every rule, containment."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cases import CaseError, case_data, load_case
from conftest import RULE_FIXTURES

from gatewaydoctor.facts import Facts
from gatewaydoctor.findings import Excerpt, Link, Severity
from gatewaydoctor.parse import build_facts
from gatewaydoctor.rules import registry
from gatewaydoctor.rules.registry import RegistryError, Rule, all_rules, check, run_rules
from gatewaydoctor.rules.spec import Found, Text, found

RULES = all_rules()


def _fixtures(prefix: str) -> list[tuple[Rule, Path]]:
    return [(r, p) for r in RULES
            for p in sorted((RULE_FIXTURES / r.symbol).glob(f"{prefix}_*.json"))]


# Healthy stacks every rule must stay silent on, besides its own near-miss healthy_* cases:
# a new rule needs only its firing case to be held to them.
HEALTHY_STACKS = ("healthy", "healthy-gunicorn", "supervisor-healthy", "uwsgi-healthy")


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.symbol)
def test_every_rule_has_a_firing_case(rule: Rule) -> None:
    folder = RULE_FIXTURES / rule.symbol
    assert list(folder.glob("fires_*.json")), f"{rule.id} has no {folder}/fires_*.json"


@pytest.mark.parametrize("stack", HEALTHY_STACKS)
def test_no_rule_fires_on_a_healthy_stack(tmp_path: Path, stack: str) -> None:
    case = tmp_path / "healthy.json"
    case.write_text(json.dumps({"recording": stack}))
    run = run_rules(build_facts(load_case(case)), RULES)
    assert not run.errors and not run.not_evaluated
    assert not run.findings, [f"{f.symbol}: {f.title}" for f in run.findings]


@pytest.mark.parametrize(("case", "message"), [
    ({"recording": "no-such-scenario"}, "names recording 'no-such-scenario', but there is no "),
    ({"recording": "healthy", "extra": 1}, "unknown keys ['extra']"),
    ({"patch": []}, 'must be an object with "recording"'),
    ({"recording": "healthy", "patch": [{"op": "remove", "path": "/items/no.such"}]},
     'patch operation 0 {"op": "remove", "path": "/items/no.such"} does not apply'),
    ({"recording": "healthy", "patch": [
        {"op": "test", "path": "/schema", "value": "gatewaydoctor.evidence/1"},
        {"op": "test", "path": "/items/proc.processes/data/processes/0/comm", "value": "x"}]},
     "patch operation 1 "),
])
def test_a_wrong_case_names_its_file(tmp_path: Path, case: dict[str, object],
                                     message: str) -> None:
    path = tmp_path / "fires_broken.json"
    path.write_text(json.dumps(case))
    with pytest.raises(CaseError, match=re.escape(message)) as err:
        load_case(path)
    assert str(path) in str(err.value)


def test_a_case_is_its_recording_trimmed_then_patched() -> None:
    proc = case_data(RULE_FIXTURES / "nginx-not-running" / "fires_no_master.json")
    healthy = case_data(RULE_FIXTURES / "nginx-not-running" / "healthy_uvicorn.json")
    comms = [p["comm"] for p in healthy["items"]["proc.processes"]["data"]["processes"]]
    assert "nginx" in comms and "systemd-journal" not in comms
    assert [p["comm"] for p in proc["items"]["proc.processes"]["data"]["processes"]] == [
        c for c in comms if c != "nginx"]
    assert {k: v for k, v in proc["items"].items() if k != "proc.processes"} == {
        k: v for k, v in healthy["items"].items() if k != "proc.processes"}


@pytest.mark.parametrize(("rule", "path"), _fixtures("fires"), ids=lambda x: getattr(
    x, "name", getattr(x, "symbol", "")))
def test_fires(rule: Rule, path: Path) -> None:
    facts = build_facts(load_case(path))
    run = run_rules(facts, [rule])
    assert not run.not_evaluated and not run.errors
    assert run.findings, f"{rule.symbol} did not fire on {path.name}"
    for f in run.findings:
        assert f.evidence and f.fix.summary and f.links
        assert all(e.source and e.text for e in f.evidence)


@pytest.mark.parametrize(("rule", "path"), _fixtures("healthy"), ids=lambda x: getattr(
    x, "name", getattr(x, "symbol", "")))
def test_does_not_fire(rule: Rule, path: Path) -> None:
    run = run_rules(build_facts(load_case(path)), [rule])
    assert not run.errors and not run.not_evaluated
    assert not run.findings, [f.title for f in run.findings]


def _noop(facts: Facts) -> Iterator[Found]:
    return iter(())


def _rule(**kw: object) -> Rule:
    base: dict[str, object] = dict(
        id="GD-TST-001", symbol="test-rule", category="probe.failed", severity=Severity.ERROR,
        title="t", role="cause", layer="url", detector=_noop, texts={"default": TEXT},
        params=(("facts", True),), module="tests.rule")
    base.update(kw)
    return Rule(**base)  # type: ignore[arg-type]


TEXT = Text("{what} went wrong", "because {why}", "fix {what}", ("restart {what}",))


@pytest.mark.parametrize(("kw", "message"), [
    ({"id": "GD-1"}, "ID must look like"),
    ({"symbol": "Bad_Symbol"}, "symbol"),
    ({"category": "app.nonsense"}, "not in the vocabulary"),
    ({"params": (("nope", True),)}, "unknown facts"),
    ({"texts": {"other": TEXT}}, "must include 'default'"),
    ({"id": "GD-TST-009", "symbol": "fresh", "module": "gatewaydoctor.rules.port.port_conflict"},
     "one rule per module"),
    ({"id": "GD-APP-001"}, "registered twice"),
    ({"symbol": "relative-import"}, "used by GD-APP-001"),
])
def test_registry_rejects(kw: dict[str, object], message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        check(_rule(**kw), registry.REGISTRY.values())


def test_crashing_rule_is_contained_and_missing_facts_reported() -> None:
    def boom(facts: Facts) -> Iterator[Found]:
        raise KeyError("x")

    facts = build_facts(load_case(RULE_FIXTURES / "crash-loop" / "healthy_uvicorn.json"))
    run = run_rules(facts, [_rule(detector=boom), _rule(id="GD-TST-002", symbol="other",
                                                        params=(("units", True),))])
    assert run.errors[0].reason.startswith("internal error in rule GD-TST-001")
    assert not run.not_evaluated
    no_units = Facts(**{**facts.__dict__, "units": None, "missing": {"units": "systemctl: gone"}})
    run = run_rules(no_units, [_rule(params=(("units", True),))])
    assert run.not_evaluated[0].reason == "not evaluated, because units: systemctl: gone"


def test_the_engine_passes_the_facts_a_detector_names_and_renders_its_texts() -> None:
    seen: dict[str, object] = {}

    def detect(units: tuple[object, ...], probes: tuple[object, ...] = (),
               selinux: object = "absent") -> Iterator[Found]:
        seen.update(units=units, probes=probes, selinux=selinux)
        yield found([Excerpt("src", "line")], [Link("unit", "u")], what="api", why=None)

    facts = build_facts(load_case(RULE_FIXTURES / "crash-loop" / "healthy_uvicorn.json"))
    facts = Facts(**{**facts.__dict__, "selinux": None})
    rule = _rule(detector=detect, params=registry.parameters(detect))
    assert rule.needs == ("units",)
    [finding] = run_rules(facts, [rule]).findings
    assert seen == {"units": facts.units, "probes": facts.probes, "selinux": "absent"}
    assert (finding.title, finding.explanation, finding.fix.summary, finding.fix.commands) == (
        "api went wrong", "because None", "fix api", ("restart api",))
