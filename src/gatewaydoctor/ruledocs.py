"""Rule documentation: one Markdown page per rule and language (`docs/rules/<lang>/<symbol>.md`).

Every page has the same shape, in English and in Simplified Chinese::

    # GD-APP-001 relative-import: <title>

    ## What it detects        (zh-CN: ## 检测内容)
    ## Why it happens         (## 常见原因)
    ## Evidence it uses       (## 使用的证据)
    ## How to fix             (## 修复方法)
    ## How to verify          (## 验证方法)
    ## Bad example            (## 错误示例)
    ## Good example           (## 正确示例)
    ## Messages               (## 消息; optional: the rule's messages in the page's language)

`load(symbol_or_id, lang)` parses a page into a `RuleDoc`; `doc_anchor(symbol)` is the
anchor reports link to; `gatewaydoctor explain ID|symbol` prints a page. The pages are
checked against the registry and the recorded rule fixtures by tests/unit/test_ruledocs.py:
the "bad" example of every page is text a real recording contains.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from . import packaged
from .errors import GatewayDoctorError
from .i18n import LANGUAGES, current_language, normalize

DOCS_DIR = Path(__file__).parent / "docs" / "rules"

# Field name -> heading, per language; the order is the order on the page.
SECTIONS: dict[str, dict[str, str]] = {
    "en": {
        "detects": "What it detects",
        "why": "Why it happens",
        "evidence": "Evidence it uses",
        "fix": "How to fix",
        "verify": "How to verify",
        "bad": "Bad example",
        "good": "Good example",
    },
    "zh-CN": {
        "detects": "检测内容",
        "why": "常见原因",
        "evidence": "使用的证据",
        "fix": "修复方法",
        "verify": "验证方法",
        "bad": "错误示例",
        "good": "正确示例",
    },
}

# The optional last section: what the rule says, in the page's language (rules/render.py reads
# it as `en:`/`tr:` line pairs in a code block).
MESSAGES = {"en": "Messages", "zh-CN": "消息"}

_TITLE_RE = re.compile(r"^# (GD-[A-Z]{3}-\d{3}) ([a-z0-9-]+): (.+)$")


class DocError(GatewayDoctorError, LookupError):
    """A rule has no page in that language, or its page does not have the expected shape."""


@dataclass(frozen=True)
class RuleDoc:
    """One rule's documentation in one language; the sections are Markdown."""

    symbol: str
    id: str
    title: str
    detects: str
    why: str
    evidence: str
    fix: str
    verify: str
    bad: str
    good: str
    lang: str = "en"
    text: str = ""  # the whole page, as written
    messages: str = ""

    def sections(self) -> dict[str, str]:
        """Heading (in the page's language) -> Markdown body, in page order."""
        return {heading: getattr(self, field) for field, heading in SECTIONS[self.lang].items()}

    def bad_example(self) -> str:
        """The text of the first code block of the "bad" example (the triggering evidence)."""
        return code_block(self.bad)


def code_block(markdown: str) -> str:
    """The content of the first fenced code block in markdown ("" if none)."""
    from markdown_it import MarkdownIt  # only the doc checks read code blocks

    fences = (t for t in MarkdownIt("commonmark").parse(markdown) if t.type == "fence")
    return next((t.content.rstrip("\n") for t in fences), "")


def doc_anchor(symbol: str) -> str:
    """The HTML anchor of a rule's documentation, e.g. `rule-relative-import`."""
    return f"rule-{symbol}"


def language(lang: str | None) -> str:
    """A supported page language for lang (None: the language messages are shown in)."""
    chosen = normalize(lang) if lang else current_language()
    return chosen if chosen in LANGUAGES else "en"


def path_of(symbol: str, lang: str) -> Path:
    return DOCS_DIR / language(lang) / f"{symbol}.md"


def resolve(name: str) -> tuple[str, str]:
    """(ID, symbol) of the registered rule called name (its ID, any case, or its symbol)."""
    for r in _registered():
        if name.upper() == r.id or name == r.symbol:
            return r.id, r.symbol
    raise DocError(f"no rule is called {name!r}")


def _registered() -> list[Any]:
    """Every rule with a page: diagnose's rules, then lint's own (GD-LNT-nnn)."""
    from .lint.registry import lint_rules
    from .rules import all_rules

    return [*all_rules(), *lint_rules()]


def parse(text: str, lang: str, where: str = "<page>") -> RuleDoc:
    """Parse a page; DocError names what is wrong with its shape."""
    lines = text.splitlines()
    m = _TITLE_RE.match(lines[0]) if lines else None
    if m is None:
        raise DocError(f"{where}: the first line must be `# GD-XXX-000 symbol: title`")
    headings = SECTIONS[lang]
    by_heading = {**{h: f for f, h in headings.items()}, MESSAGES[lang]: "messages"}
    body: dict[str, list[str]] = {}
    current: str | None = None
    for line in lines[1:]:
        if line.startswith("## "):
            heading = line[3:].strip()
            if heading not in by_heading:
                raise DocError(f"{where}: unknown section {heading!r} (expected one of "
                               f"{', '.join(headings.values())})")
            current = by_heading[heading]
            if current in body:
                raise DocError(f"{where}: section {heading!r} appears twice")
            body[current] = []
        elif current is not None:
            body[current].append(line)
        elif line.strip():
            raise DocError(f"{where}: text before the first section: {line.strip()[:60]!r}")
    order = [f for f in body if f != "messages"]
    if list(body)[-1] != "messages" and "messages" in body:
        raise DocError(f"{where}: section {MESSAGES[lang]!r} must come last")
    if order != list(headings):
        missing = [headings[f] for f in headings if f not in body]
        raise DocError(f"{where}: sections missing or out of order"
                       + (f" (missing: {', '.join(missing)})" if missing else ""))
    sections = {f: "\n".join(v).strip() for f, v in body.items()}
    return RuleDoc(symbol=m.group(2), id=m.group(1), title=m.group(3).strip(), lang=lang,
                   text=text, **sections)


def _page(symbol: str, lang: str) -> str | None:
    """The text of a rule's page, None when it has none (read through `packaged`: the pages
    are inside the zip in the single-file build)."""
    try:
        return packaged.read_bytes(path_of(symbol, lang)).decode("utf-8")
    except OSError:
        return None


def load(symbol: str, lang: str | None = None) -> RuleDoc:
    """The documentation of a rule (by symbol or ID) in lang (default: the current language)."""
    lang = language(lang)
    text = _page(symbol, lang) if re.fullmatch(r"[a-z0-9-]+", symbol) else None
    if text is None:
        rule_id, symbol = resolve(symbol)
        text = _page(symbol, lang)
        if text is None:
            raise DocError(f"rule {rule_id} ({symbol}) has no {lang} documentation")
    return parse(text, lang, str(path_of(symbol, lang)))


def all_docs(lang: str | None = None) -> dict[str, RuleDoc]:
    """symbol -> RuleDoc for every registered rule that has a page in lang, by rule ID."""
    lang = language(lang)
    pages = {r.symbol: _page(r.symbol, lang) for r in _registered()}
    return {symbol: parse(text, lang, str(path_of(symbol, lang)))
            for symbol, text in pages.items() if text is not None}


def title_of(symbol: str, default: str, lang: str | None = None) -> str:
    """A rule's title in lang, from its page (default when it has none)."""
    try:
        return load(symbol, lang).title
    except DocError:
        return default


def rules_listing(as_json: bool = False, lang: str | None = None) -> str:
    """`gatewaydoctor rules`: ID, symbol, category, severity and title of every rule."""
    import json

    rows = [{"id": r.id, "symbol": r.symbol, "category": r.category,
             "severity": r.severity.value, "role": r.role, "layer": r.layer,
             "title": title_of(r.symbol, r.title, lang), "anchor": doc_anchor(r.symbol)}
            for r in _registered()]
    if as_json:
        return json.dumps(rows, indent=1, ensure_ascii=False)
    return "\n".join(f"{r['id']}  {r['symbol']:<24} {r['category']:<30} {r['severity']:<8} "
                     f"{r['title']}" for r in rows)


def explain(name: str, out: TextIO, lang: str | None = None) -> int:
    """`gatewaydoctor explain ID|symbol`: the page, rendered for a terminal or as Markdown."""
    from .i18n import _

    try:
        doc = load(name, lang)
    except DocError:
        print(_("gatewaydoctor: no rule is called {name!r}; `gatewaydoctor rules` lists them.")
              .format(name=name), file=sys.stderr)
        return 2
    try:
        if out.isatty():
            from rich.console import Console
            from rich.markdown import Markdown

            Console(file=out).print(Markdown(doc.text))
        else:
            out.write(doc.text if doc.text.endswith("\n") else doc.text + "\n")
        out.flush()
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
    return 0
