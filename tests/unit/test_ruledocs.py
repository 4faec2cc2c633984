"""Rule documentation: every registered rule has an en and a zh-CN page of the same shape,
with no placeholder text, and the page's "bad" example is what a real recording shows
(the rule fires on a recorded fixture whose evidence contains it), so the docs cannot
drift from what the rules do."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pytest
from cases import case_data, load_case
from conftest import RULE_FIXTURES

from gatewaydoctor import cli, ruledocs
from gatewaydoctor.lint.registry import lint_rules
from gatewaydoctor.parse import build_facts
from gatewaydoctor.rules.registry import Rule, all_rules, run_rules

RULES = all_rules()
LANGS = ("en", "zh-CN")
PLACEHOLDER = re.compile(r"\b(TODO|TBD|XXX|FIXME)\b|lorem|ipsum", re.I)
CJK = re.compile(r"[\u4e00-\u9fff]")
VARIABLE = re.compile(r"<(?:pid|time|n)>")


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


@lru_cache(maxsize=None)
def _fired(rule_id: str, path: Path) -> tuple[str, ...] | None:
    """The texts a fixture offers (its evidence strings and the findings' evidence), or None
    when the rule does not fire on it."""
    rule = next(r for r in RULES if r.id == rule_id)
    run = run_rules(build_facts(load_case(path)), [rule])
    if not run.findings:
        return None
    texts = list(_strings(case_data(path)))
    texts += [e.text for f in run.findings for e in f.evidence]
    return tuple(texts)


def _line_pattern(line: str) -> re.Pattern[str]:
    """The line, literally, except `<pid>`, `<time>`, `<n>`: the parts that vary between
    recordings (signatures.md's notation for a variable part)."""
    return re.compile(VARIABLE.sub(".+?", re.escape(line)))


def bad_example_source(rule: Rule, doc: ruledocs.RuleDoc) -> tuple[Path | None, list[str]]:
    """The recorded fixture the rule fires on whose evidence holds every line of the page's
    bad example, and the lines no fixture holds."""
    lines = [ln.strip() for ln in doc.bad_example().splitlines() if ln.strip()]
    patterns = [_line_pattern(ln) for ln in lines]
    best: list[str] = lines
    for path in sorted((RULE_FIXTURES / rule.symbol).glob("fires_*.json")):
        texts = _fired(rule.id, path)
        if texts is None:
            continue
        absent = [ln for ln, pat in zip(lines, patterns)
                  if not any(pat.search(t) for t in texts)]
        if not absent:
            return path, []
        best = min(best, absent, key=len)
    return None, best


def problems(rule: Rule, lang: str) -> list[str]:
    """Everything wrong with rule's page in lang (empty: the page conforms)."""
    try:
        doc = ruledocs.load(rule.symbol, lang)
    except ruledocs.DocError as exc:
        return [str(exc)]
    out = []
    if (doc.id, doc.symbol) != (rule.id, rule.symbol):
        out.append(f"the page is titled {doc.id} {doc.symbol}, the rule is {rule.id} "
                   f"{rule.symbol}")
    if lang == "en" and doc.title != rule.title:
        out.append(f"title {doc.title!r} is not the rule's title {rule.title!r}")
    if lang == "zh-CN" and not CJK.search(doc.title):
        out.append("the zh-CN title has no Chinese")
    for heading, body in doc.sections().items():
        if not body.strip():
            out.append(f"section {heading!r} is empty")
        if lang == "zh-CN" and not CJK.search(body):
            out.append(f"section {heading!r} has no Chinese text")
    prose = re.sub(r"^```.*?^```", "", doc.text, flags=re.S | re.M)
    if lang == "zh-CN" and re.search(r"[\u4e00-\u9fff]\n[ \t]*[\u4e00-\u9fff]", prose):
        out.append("a line break between Chinese characters (it renders as a space)")
    m = PLACEHOLDER.search(doc.text)
    if m:
        out.append(f"placeholder text {m.group(0)!r}")
    for field in ("fix", "verify"):
        if "```" not in getattr(doc, field):
            out.append(f"section {ruledocs.SECTIONS[lang][field]!r} has no commands")
    if not doc.bad_example():
        out.append("the bad example has no code block")
    else:
        path, absent = bad_example_source(rule, doc)
        if path is None:
            out.append(f"no recorded fixture tests/rules/{rule.symbol}/fires_*.json on which "
                       f"the rule fires contains these bad-example lines: {absent}")
    if not ruledocs.code_block(doc.good):
        out.append("the good example has no code block")
    return out


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.symbol)
def test_every_rule_has_a_conforming_page(rule: Rule, lang: str) -> None:
    assert problems(rule, lang) == []


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.symbol)
def test_both_languages_show_the_same_evidence(rule: Rule) -> None:
    en, zh = (ruledocs.load(rule.symbol, lang) for lang in LANGS)
    # Evidence is data: never translated.
    assert en.bad_example() == zh.bad_example()


def test_a_rule_without_docs_fails_the_conformance_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = next(r for r in RULES if r.symbol == "relative-import")
    english = ruledocs.load(rule.symbol, "en").text
    monkeypatch.setattr(ruledocs, "DOCS_DIR", tmp_path)
    for lang in LANGS:
        assert problems(rule, lang) == [f"rule {rule.id} ({rule.symbol}) has no {lang} "
                                        "documentation"]
    # An untranslated page (English text under Chinese headings) does not pass either.
    for field, heading in ruledocs.SECTIONS["en"].items():
        english = english.replace(f"## {heading}\n", f"## {ruledocs.SECTIONS['zh-CN'][field]}\n")
    (tmp_path / "zh-CN").mkdir()
    (tmp_path / "zh-CN" / f"{rule.symbol}.md").write_text(english, encoding="utf-8")
    found = problems(rule, "zh-CN")
    assert "the zh-CN title has no Chinese" in found
    assert "section '检测内容' has no Chinese text" in found


def test_a_drifted_bad_example_fails(tmp_path: Path) -> None:
    rule = next(r for r in RULES if r.symbol == "relative-import")
    doc = ruledocs.load(rule.symbol, "en")
    drifted = ruledocs.parse(doc.text.replace("no known parent package",
                                              "no parent package known"), "en")
    path, absent = bad_example_source(rule, drifted)
    assert path is None and absent == ["ImportError: attempted relative import with no parent "
                                       "package known"]


def test_pages_belong_to_registered_rules() -> None:
    # diagnose's rules, and lint's own (GD-LNT-nnn: tests/unit/test_lint_docs.py checks those)
    symbols = {r.symbol for r in RULES} | {r.symbol for r in lint_rules()}
    for lang in LANGS:
        pages = {p.stem for p in (ruledocs.DOCS_DIR / lang).glob("*.md")}
        assert pages == symbols, f"{lang}: {sorted(pages ^ symbols)}"
        assert set(ruledocs.all_docs(lang)) == symbols


def test_malformed_pages_are_rejected() -> None:
    good = ruledocs.load("relative-import", "en").text
    with pytest.raises(ruledocs.DocError, match="first line"):
        ruledocs.parse("no title\n", "en")
    with pytest.raises(ruledocs.DocError, match="missing: How to verify"):
        ruledocs.parse(good.replace("## How to verify", "### How to verify"), "en")
    with pytest.raises(ruledocs.DocError, match="unknown section"):
        ruledocs.parse(good.replace("## Good example", "## Good one"), "en")
    with pytest.raises(ruledocs.DocError, match="unknown section"):
        ruledocs.parse(good, "zh-CN")  # English headings are not a zh-CN page


def test_load_by_id_symbol_and_language() -> None:
    by_id = ruledocs.load("gd-app-001", "zh_CN.UTF-8")
    assert (by_id.symbol, by_id.lang) == ("relative-import", "zh-CN")
    assert ruledocs.load("relative-import", "en_US").lang == "en"
    assert ruledocs.doc_anchor("relative-import") == "rule-relative-import"
    with pytest.raises(ruledocs.DocError):
        ruledocs.load("../en/relative-import", "en")


def test_explain_prints_the_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explain", "GD-APP-001"]) == 0
    out = capsys.readouterr().out
    assert out == ruledocs.load("relative-import", "en").text
    assert cli.main(["explain", "relative-import"]) == 0
    assert capsys.readouterr().out == out


def test_explain_in_chinese_and_for_a_terminal() -> None:
    plain = io.StringIO()
    assert ruledocs.explain("oom-killed", plain, lang="zh-CN") == 0
    assert plain.getvalue().startswith("# GD-SYS-001 oom-killed: ")
    assert "## 修复方法" in plain.getvalue()

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    assert ruledocs.explain("oom-killed", tty, lang="zh-CN") == 0
    rendered = tty.getvalue()
    assert "修复方法" in rendered and "## 修复方法" not in rendered  # rendered, not raw


def test_explain_unknown_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explain", "GD-XYZ-123"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "GD-XYZ-123" in captured.err


def test_rules_listing(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(RULES) + len(lint_rules())
    assert lines[0].split()[:4] == [RULES[0].id, RULES[0].symbol, RULES[0].category, "error"]
    assert cli.main(["rules", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == [r.id for r in RULES] + [r.id for r in lint_rules()]
    assert rows[0] == {"id": RULES[0].id, "symbol": RULES[0].symbol,
                       "category": RULES[0].category, "severity": RULES[0].severity.value,
                       "role": RULES[0].role, "layer": RULES[0].layer,
                       "title": RULES[0].title, "anchor": f"rule-{RULES[0].symbol}"}
    zh = json.loads(ruledocs.rules_listing(as_json=True, lang="zh-CN"))
    assert all(CJK.search(r["title"]) for r in zh)
