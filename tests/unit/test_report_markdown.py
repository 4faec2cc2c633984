"""The Markdown report: structure that pastes cleanly, evidence kept exact, secrets masked."""

from __future__ import annotations

import dataclasses
import re

from report_cases import LAB_PASSWORD, diagnosis

from gatewaydoctor.diagnose import Diagnosis
from gatewaydoctor.findings import Excerpt, Fix
from gatewaydoctor.report import markdown


def fences(text: str) -> list[tuple[str, list[str]]]:
    """(info string, lines) of every fenced block, honouring fence length like CommonMark."""
    blocks, open_fence, info, body = [], "", "", []
    for line in text.splitlines():
        stripped = line.strip()
        m = re.match(r"(`{3,})(.*)$", stripped)
        if not open_fence and m:
            open_fence, info, body = m.group(1), m.group(2).strip(), []
        elif open_fence and re.fullmatch(f"{open_fence}`*", stripped):
            blocks.append((info, body))
            open_fence = ""
        elif open_fence:
            body.append(line.strip())
    assert not open_fence, "a code block is never closed"
    return blocks


def tricky() -> Diagnosis:
    d = diagnosis("relative-import")
    top = d.causes[0]
    evil = dataclasses.replace(
        top,
        title="title with *stars* and <b>tags</b> and [a](http://x)",
        evidence=(Excerpt("journalctl -u x.service", "```\n# not a heading, ``` inside"),
                  Excerpt("/etc/app/.env:3", f"POSTGRES_URL=postgresql://app:{LAB_PASSWORD}@db/x"),
                  *top.evidence),
        fix=Fix("Run `systemctl restart x` <now>", ("echo '```'", "systemctl restart x")),
    )
    return dataclasses.replace(d, causes=(evil, *d.causes[1:]), summary=evil.title)


def test_sections_of_a_real_report() -> None:
    text = markdown.render(diagnosis("relative-import"))
    lines = text.splitlines()
    assert lines[0] == "## 🔴 gatewaydoctor: BROKEN on `gdlab`"
    for heading in ("### Causes, most likely first", "### Request path", "### Not looked at"):
        assert heading in lines
    assert lines.index("### Causes, most likely first") < lines.index("### Request path")
    assert any(x.startswith("> Offline diagnosis of ") for x in lines)
    assert "**Summary:** " in text
    blocks = fences(text)
    bash = [b for info, b in blocks if info == "bash"]
    top = diagnosis("relative-import").causes[0]
    assert bash[0] == list(top.fix.commands)  # the first cause's fix, exactly, copy-pastable
    texts = [b for info, b in blocks if info == "text"]
    assert [e.text for e in top.evidence] == [b[0] for b in texts[:len(top.evidence)]]
    # The chain, hop by hop, numbered, each state as a symbol and a word; the root cause's
    # rule under the hop it sits on.
    assert re.search(r"^\d+\. ❌ \*\*log\*\* \(broken\) `ImportError: attempted relative import",
                     text, re.M)
    assert re.search(r"^\d+\. ⚪ \*\*process\*\* \(not reached\)$", text, re.M)
    assert "   - **root cause:** `GD-APP-001` `relative-import`" in text
    assert "`gatewaydoctor explain relative-import`" in text


def test_healthy_report_says_so() -> None:
    text = markdown.render(diagnosis("healthy"))
    assert text.startswith("## 🟢 gatewaydoctor: HEALTHY")
    assert "### Causes" not in text and "No problem found" in text


def test_markup_in_text_is_escaped_and_evidence_kept_exact() -> None:
    text = markdown.render(tricky())
    assert LAB_PASSWORD not in text and "postgresql://app:***@db/x" in text
    head = next(x for x in text.splitlines() if x.startswith("#### 1. "))
    assert "\\*stars\\*" in head and "&lt;b>" in head and "\\[a](http" in head
    blocks = fences(text)
    # The evidence with backticks and a "#" stays in one block, byte for byte.
    assert ("text", ["```", "# not a heading, ``` inside"]) in blocks
    bash = next(b for info, b in blocks if info == "bash")
    assert bash == ["echo '```'", "systemctl restart x"]
    assert "Run `systemctl restart x` &lt;now>" in text


def test_code_span_and_block_helpers() -> None:
    assert markdown.code("a`b") == "``a`b``"
    assert markdown.code("`x`") == "`` `x` ``"
    assert markdown.block(["x ``` y"], "text").startswith("````text\n")
    assert markdown.prose("use `from .x import y` for *x*") == "use `from .x import y` for \\*x\\*"
    assert markdown.prose("__init__.py and proxy_pass") == "\\_\\_init\\_\\_.py and proxy_pass"


def test_dunder_names_are_not_read_as_emphasis() -> None:
    from gatewaydoctor.report.markdown import prose

    text = prose("create /srv/app/backend/__init__.py and keep my_var")
    assert r"/srv/app/backend/\_\_init\_\_.py" in text
    assert "my_var" in text  # intraword underscores need no escape
