"""Every lab recording's real report, in every format, through the CLI (`--format`, `-o`).

Each rendering must show the verdict, the first cause's title and its decisive evidence
line (the text the scenario's lab test requires), and never the lab's database password.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_cases import FORMATS, LAB_PASSWORD, RECORDINGS, decisive_line, diagnosis, path

from gatewaydoctor.cli import main


class PageText(HTMLParser):
    """The text a reader sees (no script/style), and every URL-bearing attribute."""

    URL_ATTRS = {"src", "href", "action", "formaction", "poster", "srcset", "data", "cite",
                 "background", "manifest", "ping"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.urls: list[tuple[str, str, str]] = []
        self.ids: set[str] = set()
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in self.URL_ATTRS and value is not None:
                self.urls.append((tag, name, value))
            if name == "id" and value:
                self.ids.add(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.parts)


def page(text: str) -> PageText:
    p = PageText()
    p.feed(text)
    p.close()
    return p


def squash(text: str) -> str:
    """Text without whitespace or box drawing: survives the terminal report's wrapping."""
    return re.sub(r"[\s\u2500-\u257f]", "", text)


def rendered(name: str, fmt: str, tmp_path: Path) -> tuple[int, str]:
    out = tmp_path / f"{name}.{fmt}"
    code = main(["diagnose", "--evidence", path(name), "--format", fmt, "-o", str(out), "-q",
                 "--lang", "en"])
    return code, out.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", RECORDINGS)
def test_every_recording_in_every_format(name: str, fmt: str, tmp_path: Path) -> None:
    d = diagnosis(name)
    code, text = rendered(name, fmt, tmp_path)
    assert code == (0 if d.verdict == "healthy" else 1)
    assert LAB_PASSWORD not in text
    top = d.causes[0] if d.causes else None
    decisive = decisive_line(name)
    if fmt == "json":
        report = json.loads(text)
        assert report["verdict"] == d.verdict
        if top is None:
            assert report["causes"] == []
        else:
            assert report["causes"][0]["title"] == top.title
            assert decisive in [e["text"] for e in report["causes"][0]["evidence"]]
    elif fmt == "terminal":
        assert d.verdict.upper() in text and "\x1b[" not in text  # a file gets no colours
        if top is not None:
            assert squash(top.title) in squash(text)
            assert decisive is not None and squash(decisive) in squash(text)
    elif fmt == "markdown":
        first = text.splitlines()[0]
        assert first.startswith("## ") and d.verdict.upper() in first
        readable = text.replace("\\", "").replace("&lt;", "<")
        if top is None:
            assert "No problem found" in text
        else:
            assert f"#### 1. {top.title}" in readable
            # Evidence is data: the exact line, on a line of its own inside a code block.
            assert decisive is not None and f"  {decisive}" in text.splitlines()
    else:
        p = page(text)
        assert re.search(r'<html lang="en">', text)
        assert f'class="verdict v-{d.verdict}"' in text and d.verdict.upper() in p.text
        if top is None:
            assert "No problem found" in p.text
        else:
            assert f"1. {top.title}" in p.text
            assert decisive is not None and decisive in p.text
        external = [u for u in p.urls if re.match(r"\s*(https?:)?//", u[2], re.I)]
        assert external == [], f"external assets: {external}"
        # Every in-page link points at an element of the page.
        for _tag, _attr, url in p.urls:
            if url.startswith("#") and len(url) > 1:
                assert html.unescape(url[1:]) in p.ids, url


@pytest.mark.parametrize("fmt", ("markdown", "html"))
@pytest.mark.parametrize("name", RECORDINGS)
def test_every_recording_renders_in_chinese(name: str, fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"{name}.{fmt}"
    code = main(["diagnose", "--evidence", path(name), "--format", fmt, "-o", str(out), "-q",
                 "--lang", "zh-CN"])
    text = out.read_text(encoding="utf-8")
    assert code == (0 if diagnosis(name).verdict == "healthy" else 1)
    assert LAB_PASSWORD not in text
    decisive = decisive_line(name)
    if fmt == "html":
        assert '<html lang="zh-CN">' in text
        if decisive is not None:
            assert decisive in page(text).text  # evidence is data: never translated
    elif decisive is not None:
        assert f"  {decisive}" in text.splitlines()
