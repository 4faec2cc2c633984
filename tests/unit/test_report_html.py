"""The HTML report: one self-contained, escaped, printable, phone-readable page."""

from __future__ import annotations

import dataclasses
import re

from report_cases import LAB_PASSWORD, diagnosis
from test_report_formats import page

from gatewaydoctor.findings import Excerpt, Fix
from gatewaydoctor.i18n import set_language
from gatewaydoctor.report import html as html_report


def test_self_contained_page() -> None:
    text = html_report.render(diagnosis("relative-import"))
    assert text.startswith("<!DOCTYPE html>") and '<html lang="en">' in text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    # The page may load nothing at all: the policy forbids any fetch, and nothing asks for one.
    assert "default-src 'none'" in text
    assert not re.search(r"<(link|script|img|iframe)[^>]+(src|href)=\"(?!data:|#)", text)
    assert "@import" not in text and not re.search(r"url\(", text)
    assert "@font-face" not in text
    assert "@media print" in text and "@media (max-width" in text


def test_verdict_chain_causes_and_collapsibles() -> None:
    d = diagnosis("relative-import")
    text = html_report.render(d)
    p = page(text)
    assert 'id="verdict"' in text and "BROKEN" in p.text
    for section in ("causes", "chain", "all-findings", "raw-evidence", "coverage"):
        assert section in p.ids
    for details in ("all-findings", "raw-evidence", "coverage"):
        assert re.search(f'<details id="{details}">', text)
    # One card per cause in rank order, each with a copy button over its fix commands.
    cards = re.findall(r'<article class="card (\w+)" id="cause-(\d+)">', text)
    assert [int(n) for _, n in cards] == list(range(1, len(d.causes) + 1))
    assert cards[0][0] == "root_cause"
    with_commands = sum(1 for f in d.causes if f.fix.commands)
    assert text.count('<button type="button" class="copy"') == with_commands + 1  # + Markdown
    assert "navigator.clipboard" in text and 'createElement("textarea")' in text
    # Hops link to the card of the rule that is about them.
    assert re.search(r'<a href="#cause-1" class="tag">GD-APP-001</a>', text)


def test_rule_docs_embedded_and_linked_in_the_report_language() -> None:
    d = diagnosis("relative-import")
    from gatewaydoctor import ruledocs

    doc = ruledocs.load("relative-import", "en")
    text = html_report.render(d)
    anchor = ruledocs.doc_anchor("relative-import")
    assert f'href="#{anchor}"' in text and f'id="{anchor}"' in text
    assert doc.title in page(text).text
    set_language("zh-CN")
    zh = html_report.render(d)
    assert '<html lang="zh-CN">' in zh
    zh_doc = ruledocs.load("relative-import", "zh-CN")
    assert zh_doc.title in page(zh).text and doc.title not in page(zh).text


def test_everything_from_the_evidence_is_escaped_and_redacted() -> None:
    d = diagnosis("relative-import")
    top = d.causes[0]
    evil = dataclasses.replace(
        top, title='<script>alert("title")</script>',
        evidence=(Excerpt("<img src=x onerror=alert(1)>", "</code></pre><script>x()</script>"),
                  Excerpt("/srv/app/.env:2", f"DATABASE_URL=postgresql://u:{LAB_PASSWORD}@h/db"),
                  *top.evidence),
        explanation="see `<b>` and **not bold** in /app/__init__.py",
        fix=Fix("restart `x`", ("echo '<b>' && ls",)))
    text = html_report.render(dataclasses.replace(d, causes=(evil, *d.causes[1:]),
                                                  summary=evil.title))
    assert LAB_PASSWORD not in text
    assert "<script>alert" not in text and "<img src=x" not in text
    assert "</code></pre><script>x()" not in text
    p = page(text)
    assert '<script>alert("title")</script>' in p.text  # shown as text, not run
    assert "echo '<b>' && ls" in p.text
    # A finding's prose has code spans, nothing else of Markdown: evidence stays as it is.
    assert "see <code>&lt;b&gt;</code> and **not bold** in /app/__init__.py" in text
    assert text.count("<script>") == 1  # only the page's own


def test_doc_markdown() -> None:
    out = str(html_report.doc_html("Para `code` and **b** <x>.\n\n- one\n- two\n\n1. first\n"
                                   "2. `split\ncode`\n\n```bash\necho <hi>\n```\n## Head\n\n"
                                   "![img](http://x/y.png) <b onclick=x()>"))
    assert out == ("<p>Para <code>code</code> and <strong>b</strong> &lt;x&gt;.</p>\n"
                   "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
                   "<ol>\n<li>first</li>\n<li><code>split code</code></li>\n</ol>\n"
                   '<pre><code class="language-bash">echo &lt;hi&gt;\n</code></pre>\n'
                   "<h5>Head</h5>\n"
                   # no image (the page loads nothing), no raw HTML
                   '<p>!<a href="http://x/y.png">img</a> &lt;b onclick=x()&gt;</p>\n')


def test_doc_markdown_is_redacted() -> None:
    out = str(html_report.doc_html(f"`POSTGRES_URL=postgresql://u:{LAB_PASSWORD}@h/db`"))
    assert LAB_PASSWORD not in out and out.startswith("<p><code>POSTGRES_URL=")
