"""Golden outputs: what every rule says on each of its firing cases, and the whole report of
every lab recording, in English and Chinese. A change in wording, evidence, fix commands,
ranking or chain shows here as a diff; `pytest --update-golden` rewrites the files after a
deliberate change (review the diff, and say why in the commit).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cases import load_case
from conftest import RULE_FIXTURES
from report_cases import RECORDINGS, path

from gatewaydoctor.diagnose import diagnose
from gatewaydoctor.evidence import load
from gatewaydoctor.i18n import LANGUAGES, set_language
from gatewaydoctor.parse import build_facts
from gatewaydoctor.report.json import finding_dict, to_dict
from gatewaydoctor.rules.registry import Rule, all_rules, run_rules

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
RULES = all_rules()
FIRING = [(r, p) for r in RULES for p in sorted((RULE_FIXTURES / r.symbol).glob("fires_*.json"))]


def _compare(request: pytest.FixtureRequest, golden: Path, got: dict[str, Any]) -> None:
    text = json.dumps(got, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
        return
    assert golden.exists(), f"no golden file {golden}: run pytest --update-golden and review it"
    want = json.loads(golden.read_text(encoding="utf-8"))
    assert got == want, f"{golden} differs (pytest --update-golden rewrites it)"


def _rule_findings(rule: Rule, case: Path) -> dict[str, Any]:
    ev = load_case(case)
    out: dict[str, Any] = {}
    for lang in LANGUAGES:
        set_language(lang)
        run = run_rules(build_facts(ev), [rule])
        out[lang] = [finding_dict(f) for f in run.findings]
    return out


@pytest.mark.parametrize(("rule", "case"), FIRING,
                         ids=[f"{r.symbol}/{p.stem}" for r, p in FIRING])
def test_rule_says_what_its_golden_file_says(request: pytest.FixtureRequest, rule: Rule,
                                             case: Path) -> None:
    got = _rule_findings(rule, case)
    assert got["en"], f"{rule.symbol} did not fire on {case}"
    _compare(request, GOLDEN / "rules" / rule.symbol / f"{case.stem}.json", got)


def _report(name: str) -> dict[str, Any]:
    ev = load(Path(path(name)))
    out: dict[str, Any] = {}
    for lang in LANGUAGES:
        set_language(lang)
        facts = build_facts(ev)
        report = to_dict(diagnose(facts, run_rules(facts, RULES)))
        report.pop("tool_version")
        out[lang] = report
    return out


@pytest.mark.parametrize("name", RECORDINGS)
def test_lab_report_is_what_its_golden_file_says(request: pytest.FixtureRequest,
                                                  name: str) -> None:
    _compare(request, GOLDEN / "lab" / f"{name}.json", _report(name))
