"""The HTML report: ONE self-contained file (inline CSS and JS, no web fonts, no external
asset), readable on a phone, printable, with copy buttons on the fix commands.

It renders the redacted JSON report (`report/json.py::to_dict`) through a Jinja2 template
with autoescaping on, so nothing from the evidence reaches the page unescaped. Rule
documentation from `gatewaydoctor.ruledocs`, in the report's language, is embedded at the
end of the page and linked from each finding.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from .. import __version__
from ..diagnose import Diagnosis
from ..findings import severity_label
from ..i18n import _, current_language
from ..redact import redact
from .json import to_dict
from .markdown import render as render_markdown
from .markdown import verdict_label

TEMPLATE = "report.html.j2"
_FENCE = re.compile(r"^(`{3,}|~{3,})[^\n]*$")
_INLINE = re.compile(r"(`+)(.+?)\1|\*\*(.+?)\*\*")


def _inline(text: str) -> str:
    """Escape one line of doc Markdown, keeping `code` and **bold**."""
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[pos:m.start()]))
        if m.group(2) is not None:
            out.append(f"<code>{html.escape(m.group(2).strip())}</code>")
        else:
            out.append(f"<strong>{html.escape(m.group(3))}</strong>")
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def doc_html(markdown: str) -> Markup:
    """The small Markdown of rule docs (paragraphs, lists, code blocks, `code`, **bold**,
    headings) as HTML. Everything is escaped first: a page cannot inject markup."""
    out: list[str] = []
    para: list[str] = []
    items: list[str] = []
    lines = redact(markdown).split("\n")

    def flush() -> None:
        if para:
            out.append("<p>" + " ".join(_inline(x) for x in para) + "</p>")
            para.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{_inline(x)}</li>" for x in items) + "</ul>")
            items.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line.strip())
        if fence:
            flush()
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence.group(1)):
                body.append(lines[i])
                i += 1
            out.append(f"<pre><code>{html.escape(chr(10).join(body))}</code></pre>")
        elif not line.strip():
            flush()
        elif re.match(r"^\s*[-*] ", line):
            if para:
                flush()
            items.append(re.sub(r"^\s*[-*] ", "", line))
        elif line.startswith("#"):
            flush()
            out.append(f"<h5>{_inline(line.lstrip('#').strip())}</h5>")
        elif items and line.startswith("  "):
            items[-1] += " " + line.strip()
        else:
            if items:
                flush()
            para.append(line.strip())
        i += 1
    flush()
    return Markup("\n".join(out))


def rule_docs(symbols: list[str], lang: str) -> dict[str, dict[str, Any]]:
    """symbol -> {anchor, id, title, sections: [(heading, html)]} for the rules that have a
    page in lang (English when lang has none); {} when ruledocs is not there."""
    try:
        from .. import ruledocs
    except ImportError:
        return {}
    docs: dict[str, dict[str, Any]] = {}
    for symbol in dict.fromkeys(symbols):
        doc = None
        for want in dict.fromkeys((lang, "en")):
            try:
                doc = ruledocs.load(symbol, want)
                break
            except (LookupError, OSError, ValueError):
                continue
        if doc is None:
            continue
        docs[symbol] = {
            "anchor": ruledocs.doc_anchor(symbol), "id": doc.id, "title": doc.title,
            "lang": doc.lang,
            "sections": [(heading, doc_html(body)) for heading, body in doc.sections().items()
                         if body.strip()],
        }
    return docs


@cache
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("gatewaydoctor.report", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["inline"] = lambda text: Markup(_inline(str(text)))
    env.filters["severity"] = severity_label
    return env


def _labels() -> dict[str, Callable[..., str]]:
    return {"_": _}


def context(d: Diagnosis) -> dict[str, Any]:
    """What the template sees: the redacted report dict, plus labels and rule docs."""
    report = to_dict(d)
    lang = current_language()
    symbols = [f["symbol"] for f in report["findings"]]
    docs = rule_docs(symbols, lang)
    # rule ID -> the anchor of its first card, so chain hops link to what they are about.
    others = [f for f in report["findings"] if f not in report["causes"]]
    card_of: dict[str, str] = {}
    for n, f in enumerate(report["causes"], 1):
        card_of.setdefault(f["rule"], f"cause-{n}")
    for n, f in enumerate(others, len(report["causes"]) + 1):
        card_of.setdefault(f["rule"], f"finding-{n}")
    sources: dict[str, list[str]] = {}
    for f in report["findings"]:
        for e in f["evidence"]:
            texts = sources.setdefault(e["source"], [])
            if e["text"] not in texts:
                texts.append(e["text"])
    for chain in report["chain"]:
        for hop in chain["hops"]:
            for e in hop["evidence"]:
                texts = sources.setdefault(e["source"], [])
                if e["text"] not in texts:
                    texts.append(e["text"])
    return {
        "r": report,
        "lang": lang,
        "version": __version__,
        "verdict_label": verdict_label(d.verdict),
        "docs": docs,
        "card_of": card_of,
        "sources": sorted(sources.items()),
        "others": others,
        "missing": [c for c in report["coverage"] if c["status"] != "ok"],
        "markdown": render_markdown(d),
        **_labels(),
    }


def render(d: Diagnosis) -> str:
    """The report as one self-contained HTML document."""
    text = _environment().get_template(TEMPLATE).render(**context(d))
    return redact(text)
