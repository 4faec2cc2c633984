"""The HTML report: ONE self-contained file (inline CSS and JS, no web fonts, no external
asset), readable on a phone, printable, with copy buttons on the fix commands.

It renders the redacted JSON report (`report/json.py::to_dict`) through a Jinja2 template
with autoescaping on, so nothing from the evidence reaches the page unescaped. Rule
documentation from `gatewaydoctor.ruledocs`, in the report's language, is rendered by
markdown-it (CommonMark, raw HTML escaped), embedded at the end of the page and linked from
each finding.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup

from .. import __version__
from ..diagnose import Diagnosis, layer_name
from ..findings import severity_label
from ..i18n import _, current_language
from ..redact import redact
from .json import to_dict
from .markdown import render as render_markdown
from .markdown import verdict_label
from .path import paths
from .svg import legend
from .svg import render as render_svg
from .visible import visible

TEMPLATE = "report.html.j2"
# The picture's width in SVG units: a phone's (shown below 600 px) and a page's.
NARROW, WIDE = 360, 760


@lru_cache(maxsize=None)
def _docs_parser() -> MarkdownIt:
    """CommonMark for the rule docs, without raw HTML (escaped instead: a page cannot inject
    markup) and without images (the report loads nothing)."""
    return MarkdownIt("commonmark", {"html": False}).disable("image")


@lru_cache(maxsize=None)
def _prose_parser() -> MarkdownIt:
    """Code spans only, for a finding's prose: it is text with `code` in it, not Markdown
    (an evidence path such as .../__init__.py must not turn bold)."""
    return MarkdownIt("zero").enable("backticks")


def _inline(text: str) -> str:
    """One line of prose as HTML: escaped, with its `code` spans."""
    return str(_prose_parser().renderInline(text))


def doc_html(markdown: str) -> Markup:
    """A rule doc's Markdown (redacted) as HTML; headings become <h5> under the section's."""
    md = _docs_parser()
    tokens = md.parse(redact(markdown))
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = "h5"
    return Markup(md.renderer.render(tokens, md.options, {}))


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


@lru_cache(maxsize=None)
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("gatewaydoctor.report", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["inline"] = lambda text: Markup(_inline(str(text)))
    env.filters["severity"] = severity_label
    return env


def _labels() -> dict[str, Callable[..., str]]:
    return {"_": _}


def _shown(value: Any) -> Any:
    """The report dict with control characters shown in every string (the page escapes
    markup; a bidi override or ESC in evidence would still mislead the reader)."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {k: _shown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shown(v) for v in value]
    return value


def _text(text: str) -> str:
    return visible(redact(text))


def path_views(d: Diagnosis, anchors: dict[str, str]) -> list[dict[str, Any]]:
    """Each request path for the template: its pictures (phone and page width) and its
    hops as text, with the states `report.path` gives them. anchors: symbol -> the anchor
    of its rule page (or its card)."""
    def link(symbol: str) -> str:
        return anchors.get(symbol, "causes")

    views = []
    for p in paths(d):
        hops = [{"layer": h.layer, "layer_name": layer_name(h.layer), "state": h.state,
                 "word": h.state_word, "name": _text(h.name), "detail": _text(h.detail),
                 "evidence": [{"source": _text(e.source), "text": _text(e.text)}
                              for e in h.evidence],
                 "findings": list(h.findings), "cause": h.cause.rule if h.cause else None}
                for h in p.hops]
        views.append({"request": _text(p.request), "hops": hops,
                      "wide": render_svg(p, WIDE, link, "wide"),
                      "narrow": render_svg(p, NARROW, link, "narrow")})
    return views


def context(d: Diagnosis) -> dict[str, Any]:
    """What the template sees: the redacted report dict, plus labels and rule docs."""
    report = _shown(to_dict(d))
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
    anchors = {f["symbol"]: docs[f["symbol"]]["anchor"] if f["symbol"] in docs
               else card_of[f["rule"]] for f in report["findings"]}
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
        "paths": path_views(d, anchors),
        "legend": legend(),
        **_labels(),
    }


def render(d: Diagnosis) -> str:
    """The report as one self-contained HTML document."""
    text = _environment().get_template(TEMPLATE).render(**context(d))
    return redact(text)
