"""The pages of lint's own rules (GD-LNT-nnn) conform like diagnose's (tests/unit/
test_ruledocs.py): an en and a zh-CN page of the same shape, titled with the rule, commands in
the fix and verify sections, no placeholder; and their examples are real: every line of the
bad example is in a file the rule fires on (tests/data/lint/<symbol>/fires_*), every line of
the good example in one it does not fire on (healthy_*). `explain` prints them and `rules`
lists them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_ruledocs import CJK, LANGS, PLACEHOLDER

from gatewaydoctor import cli, ruledocs
from gatewaydoctor.i18n import set_language
from gatewaydoctor.lint.registry import Identity, lint_rules

DATA = Path(__file__).resolve().parents[1] / "data" / "lint"
RULES = lint_rules()


def _lines(doc: str) -> list[str]:
    return [ln.strip() for ln in ruledocs.code_block(doc).splitlines() if ln.strip()]


def _held_by(lines: list[str], symbol: str, prefix: str) -> bool:
    """Some fixture file of the rule holds every line."""
    for case in sorted((DATA / symbol).glob(f"{prefix}_*")):
        texts = [p.read_text() for p in case.rglob("*") if p.is_file()]
        if all(any(re.search(rf"(?m)^\s*{re.escape(ln)}\s*$", t) for t in texts)
               for ln in lines):
            return True
    return False


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.symbol)
def test_every_lint_rule_has_a_conforming_page(rule: Identity, lang: str) -> None:
    set_language(lang)
    try:
        doc = ruledocs.load(rule.symbol, lang)
        assert (doc.id, doc.symbol) == (rule.id, rule.symbol)
        if lang == "en":
            assert doc.title == rule.title
        for heading, body in doc.sections().items():
            assert body.strip(), heading
            assert lang == "en" or CJK.search(body), heading
        assert not PLACEHOLDER.search(doc.text)
        assert "```" in doc.fix and "```" in doc.verify
        assert _held_by(_lines(doc.bad), rule.symbol, "fires"), _lines(doc.bad)
        assert _held_by(_lines(doc.good), rule.symbol, "healthy"), _lines(doc.good)
    finally:
        set_language("en")


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.symbol)
def test_both_languages_show_the_same_examples(rule: Identity) -> None:
    en, zh = (ruledocs.load(rule.symbol, lang) for lang in LANGS)
    assert (en.bad_example(), ruledocs.code_block(en.good)) == \
        (zh.bad_example(), ruledocs.code_block(zh.good))


def test_explain_and_rules_know_lint_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explain", "GD-LNT-003"]) == 0
    assert capsys.readouterr().out == ruledocs.load("proxy-headers-missing", "en").text
    assert cli.main(["rules"]) == 0
    listed = capsys.readouterr().out
    for r in RULES:
        assert re.search(rf"^{r.id}  {r.symbol} +{re.escape(r.category)} ", listed, re.M)
