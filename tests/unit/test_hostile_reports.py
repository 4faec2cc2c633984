"""Hostile text in the evidence reaches every report as text: the terminal never receives an
ESC, a carriage return or a bidi override from a host, Markdown and HTML escape markup.

The strings are planted where a real host writes them (the app's journal line that becomes
the cause's evidence, the nginx error log, the host name) in a real lab recording, and the
real CLI renders each format.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from gatewaydoctor.cli import main
from gatewaydoctor.report.visible import visible

LAB = Path(__file__).resolve().parents[1] / "data" / "lab"
UNIT = "journal.unit:fastapi-backend.service"
ERROR_LOG = "nginx.error_log:/var/log/nginx/error.log"

HOSTILE = ("<script>alert(1)</script> <img src=x onerror=alert(2)> ```bash\nrm -rf /\n``` "
           "`tick` a | b || c \x1b[2J\x1b]0;owned\x07 \r# Heading\r\n- [x](javascript:1) "
           "\u202egnp.exe \u2066hidden\u2069 \x9b31m \x00\x7f \u2028</code></pre>")
RAW = ("\x1b", "\r", "\x07", "\u202e", "\u2066", "\x9b", "\x00", "\x7f", "\u2028")


def _plant(text: str) -> str:
    return text.replace("\n", " ")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The env-var-unset recording with hostile strings where hosts write text."""
    ev: dict[str, Any] = json.loads((LAB / "env-var-unset.json").read_text())
    ev["host"] = "web\x1b[31m<b>1</b>\u202e"
    records = []
    for line in ev["items"][UNIT]["stdout"].splitlines():
        rec = json.loads(line)
        if str(rec.get("MESSAGE")).startswith("pydantic_core._pydantic_core.ValidationError"):
            rec["MESSAGE"] += " " + _plant(HOSTILE)
        records.append(json.dumps(rec))
    ev["items"][UNIT]["stdout"] = "\n".join(records) + "\n"
    log = ev["items"][ERROR_LOG]
    log["stdout"] = log["stdout"].replace("Connection refused)", "Connection refused) "
                                          + _plant(HOSTILE), 1)
    path = tmp_path_factory.mktemp("hostile") / "hostile.json"
    path.write_text(json.dumps(ev))
    return path


def _report(capsys: pytest.CaptureFixture[str], path: Path, fmt: str) -> str:
    assert main(["diagnose", "--from", str(path), "--format", fmt]) == 1
    out, err = capsys.readouterr()
    assert "internal error" not in err
    return out


def test_the_planted_text_reaches_the_reports(hostile: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The JSON report carries it exactly (JSON escapes by itself): the test plants where
    it matters."""
    out = _report(capsys, hostile, "json")
    rep = json.loads(out)
    texts = [e["text"] for c in rep["causes"] for e in c["evidence"]]
    assert any("<script>alert(1)</script>" in t and "\x1b[2J" in t for t in texts)
    assert "\x1b" not in out  # JSON writes \u001b


def test_terminal_shows_control_characters_never_sends_them(
    hostile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _report(capsys, hostile, "terminal")
    for raw in RAW:
        assert raw not in out, repr(raw)
    assert "\\x1b[2J" in out and "\\u202egnp.exe" in out and "\\r# Heading" in out
    assert "web\\x1b[31m<b>1</b>\\u202e" in out  # the host name too
    assert "<script>alert(1)</script>" in out  # text, not markup, in a terminal


def test_markdown_renders_no_markup_from_the_host(
    hostile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    md = _report(capsys, hostile, "markdown")
    for raw in RAW:
        assert raw not in md, repr(raw)
    # Rendered as GitHub would (raw HTML allowed): nothing planted becomes an element.
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(md)
    assert "<script" not in html and "<img" not in html and "javascript:" not in html.replace(
        "[x](javascript:1)", "")
    assert "<h1>Heading" not in html and "<h1>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "rm -rf /" not in html.split("<code")[0]  # never outside code
    # Each cause's evidence stays inside its fenced block in the list item.
    assert html.count("<pre><code") >= md.count("```text")


def test_html_escapes_everything_from_the_host(hostile: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    page = _report(capsys, hostile, "html")
    for raw in RAW:
        assert raw not in page, repr(raw)
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\\x1b[2J" in page and "\\u202egnp.exe" in page


@pytest.mark.parametrize(("text", "shown"), [
    ("\x1b[2J", "\\x1b[2J"), ("a\rb", "a\\rb"), ("\u202eexe", "\\u202eexe"),
    ("tab\tnewline\n", "tab\tnewline\n"), ("中文 ✅ café", "中文 ✅ café"),
    ("\U000e0041", "\\U000e0041"), ("\x9b", "\\x9b"), ("\ufeffbom", "\\ufeffbom"),
])
def test_visible(text: str, shown: str) -> None:
    assert visible(text) == shown
