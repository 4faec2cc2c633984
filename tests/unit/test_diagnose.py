"""Ranking and chaining on lab-recorded evidence."""

from __future__ import annotations

from cases import load_case
from conftest import RULE_FIXTURES

from gatewaydoctor.diagnose import diagnose
from gatewaydoctor.parse import build_facts
from gatewaydoctor.rules import all_rules, run_rules


def _diagnose(rel: str):  # type: ignore[no-untyped-def]
    ev = load_case(RULE_FIXTURES / rel)
    facts = build_facts(ev)
    return diagnose(facts, run_rules(facts, all_rules()))


def test_root_cause_ranked_above_symptoms() -> None:
    d = _diagnose("relative-import/fires_journal.json")
    assert d.verdict == "broken"
    order = [f.symbol for f in d.causes]
    assert order[0] == "relative-import"
    assert order.index("upstream-not-listening") < order.index("crash-loop")
    assert order[-1] == "probe-failed"


def test_chain_runs_from_url_to_the_log_line() -> None:
    d = _diagnose("relative-import/fires_journal.json")
    layers = [h.layer for h in d.chains[0].hops]
    assert layers == ["url", "server", "location", "upstream", "unit", "log"]
    assert d.chains[0].hops[-1].name.startswith("ImportError: attempted relative import")
    assert "GD-APP-001" in d.chains[0].hops[-1].findings


def test_healthy() -> None:
    d = _diagnose("crash-loop/healthy_uvicorn.json")
    assert (d.verdict, d.causes, d.conclusive) == ("healthy", (), True)
    hops = d.chains[0].hops
    assert [h.layer for h in hops][:5] == ["url", "server", "location", "upstream", "listener"]
    assert all(h.status == "ok" for h in hops if h.layer != "log")


def test_a_finding_that_explains_a_category_outranks_it() -> None:
    from gatewaydoctor.diagnose import rank
    from gatewaydoctor.findings import Finding, Fix, Severity

    def finding(category: str, layer: str, explains: tuple[str, ...] = ()) -> Finding:
        return Finding(rule="GD-TST-001", symbol="t", category=category,
                       severity=Severity.ERROR, role="cause", layer=layer, title=category,
                       evidence=(), explanation="", fix=Fix("x"), links=(), explains=explains)

    startup = finding("app.startup_failed", "app")
    database = finding("database.unreachable", "unit", explains=("app.startup_failed",))
    # By layer alone the app-layer cause would come first...
    assert [f.category for f in rank([startup, finding("database.unreachable", "unit")])] == [
        "app.startup_failed", "database.unreachable"]
    # ...but the database failure explains the startup failure.
    assert [f.category for f in rank([startup, database])] == [
        "database.unreachable", "app.startup_failed"]


def test_what_no_exec_skipped_is_a_fact_and_shows_in_coverage() -> None:
    import dataclasses

    from gatewaydoctor.diagnose import coverage
    from gatewaydoctor.evidence import Item
    from gatewaydoctor.facts import SkippedSource

    ev = load_case(RULE_FIXTURES / "crash-loop" / "healthy_uvicorn.json")
    skip = Item(source="python.import:api.service", kind="command", error="skipped: --no-exec",
                error_kind="skipped")
    ev = dataclasses.replace(ev, items={**ev.items, skip.source: skip})
    facts = build_facts(ev)
    assert facts.skipped == (SkippedSource("python.import:api.service", "skipped: --no-exec"),)
    assert facts.taken_at == ev.time
    assert [(c.area, c.status, c.detail) for c in coverage(facts) if c.status == "skipped"] == [
        ("python.import:api.service", "skipped", "skipped: --no-exec")]
    assert diagnose(facts, run_rules(facts, all_rules())).taken_at == ev.time
