"""The request path picture (report/svg.py) in a real headless Chromium (Debian's package).

For lab recordings of four scenarios (healthy, service stopped, upstream mismatch, database
down at startup): the inline SVG path is there, each hop's `data-state` is the one expected
AND is drawn in its colour (computed fill, and the pixel on screen); the decisive evidence
sits on its hop with a link that opens the rule's page; every line of text fits inside the
picture; a 390 px phone has no horizontal scroll and gets the narrow picture; print media
(even under a dark colour scheme) keeps the light palette, and printing to PDF gives a PDF
whose text (pdftotext, Debian's poppler-utils) holds the path's hop labels and evidence.

Screenshots: the English and Chinese reports of the README's example (relative-import) are
taken on every run and checked (size, not blank, red and green nodes, the Chinese text
drawn with a CJK font, as Chromium reports); `GD_UPDATE_SCREENSHOT=1` also writes them to
docs/img/report-en.png and docs/img/report-zh.png (pixels differ across machines' fonts, so
the committed pictures are not compared).
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_html_chromium import IN_CI, DevTools, chromium, colours, png_pixels

from gatewaydoctor.cli import main
from gatewaydoctor.i18n import current_language, set_language

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "tests" / "data" / "lab"
IMG = ROOT / "docs" / "img"
DESKTOP = {"width": 1000, "height": 1400, "deviceScaleFactor": 1, "mobile": False}
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
SHOT = {"width": 900, "height": 1200, "deviceScaleFactor": 1, "mobile": False}

OK, BAD, GREY = "ok", "broken", "unknown"
# What each scenario's path must show, URL → server → location → upstream → listener →
# process → unit → log.
EXPECTED = {
    "healthy": [OK] * 8,
    "service-stopped": [BAD, OK, OK, OK, BAD, GREY, BAD, OK],
    "upstream-mismatch": [BAD, OK, OK, BAD, GREY, GREY, GREY, GREY],
    "db-down-startup": [BAD, OK, OK, OK, BAD, GREY, BAD, BAD],
}
# Where the top cause's evidence is drawn, and text it must hold.
DECISIVE = {"service-stopped": ("unit", "ActiveState=inactive"),
            "upstream-mismatch": ("upstream", "listens at 0.0.0.0:8001"),
            "db-down-startup": ("unit", "Connection refused")}
LAYERS = ["url", "server", "location", "upstream", "listener", "process", "unit", "log"]


def _html(out: Path, name: str, lang: str, *, example: bool = False) -> Path:
    """The HTML report of a lab recording (an example shipped with the tool: the README's
    first command, its offline note naming no path of this machine)."""
    page = out / f"{name}.{lang}.html"
    source = ["--example", name] if example else ["--evidence", str(LAB / f"{name}.json")]
    before = current_language()
    try:
        status = main(["diagnose", *source, "--format", "html", "-o", str(page), "-q",
                       "--lang", lang])
    finally:
        set_language(before)
    assert status in (0, 1) and page.exists()
    return page


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    out = tmp_path_factory.mktemp("paths")
    made = {(name, "en"): _html(out, name, "en") for name in EXPECTED}
    for lang in ("en", "zh-CN"):
        made[("relative-import", lang)] = _html(out, "relative-import", lang, example=True)
    return made


@pytest.fixture(scope="module")
def browser() -> Iterator[DevTools]:
    binary = chromium()
    with tempfile.TemporaryDirectory(prefix="gd-chromium-") as profile:
        dt = DevTools(binary, profile)
        try:
            targets = dt.send("Target.getTargets", browser=True)["targetInfos"]
            page = next(t for t in targets if t["type"] == "page")
            dt.session = dt.send("Target.attachToTarget", {"targetId": page["targetId"],
                                                           "flatten": True},
                                 browser=True)["sessionId"]
            for domain in ("Page", "Runtime", "DOM", "CSS"):
                dt.send(f"{domain}.enable")
            yield dt
        finally:
            dt.close()


def load(dt: DevTools, page: Path, metrics: dict[str, Any] = DESKTOP) -> None:
    dt.send("Emulation.setDeviceMetricsOverride", metrics)
    dt.events.clear()
    dt.send("Page.navigate", {"url": page.as_uri()})
    dt.wait_event("Page.loadEventFired")
    dt.evaluate("document.fonts.ready.then(() => true)")


# Each visible picture's hops: layer, state, computed fill of the node, its box on screen.
HOPS_JS = """(() => [...document.querySelectorAll('svg.gd-path')]
  .filter(s => getComputedStyle(s).display !== 'none')
  .map(s => [...s.querySelectorAll('g.hop')].map(g => {
      const node = g.querySelector('.node'), r = node.getBoundingClientRect(),
            cs = getComputedStyle(node);
      return {layer: g.dataset.layer, state: g.dataset.state, fill: cs.fill,
              stroke: cs.stroke, x: r.x + r.width / 2, y: r.y + r.height / 2, h: r.height,
              word: g.querySelector('.word').textContent};
  })))()"""


def rgb(css: str) -> tuple[int, ...]:
    assert css.startswith("rgb("), css
    return tuple(int(v) for v in css[4:-1].split(","))


def is_red(c: tuple[int, ...]) -> bool:
    return c[0] > 150 and c[1] < 90 and c[2] < 90


def is_green(c: tuple[int, ...]) -> bool:
    return c[1] > 100 and c[0] < 90 and c[2] < 110


def is_light(c: tuple[int, ...]) -> bool:
    return min(c[:3]) > 200


def pixel(shot: bytes, x: float, y: float) -> tuple[int, ...]:
    width, _h, rows = png_pixels(shot)
    bpp = len(rows[0]) // width
    row = rows[int(y)]
    return tuple(row[int(x) * bpp:int(x) * bpp + 3])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hop_states_and_their_colours(browser: DevTools, pages: dict[tuple[str, str], Path],
                                      name: str) -> None:
    load(browser, pages[(name, "en")])
    [hops] = browser.evaluate(HOPS_JS)  # one picture shown at desktop width
    assert [h["layer"] for h in hops] == LAYERS
    assert [h["state"] for h in hops] == EXPECTED[name]
    # The strip of the page the nodes are drawn in, as the screen shows it.
    top = min(h["y"] for h in hops) - 20
    strip = {"x": 0, "y": top, "width": max(h["x"] for h in hops) + 20,
             "height": max(h["y"] for h in hops) + 20 - top, "scale": 1}
    shot = base64.b64decode(browser.send("Page.captureScreenshot", {
        "format": "png", "clip": strip, "captureBeyondViewport": True})["data"])
    for h in hops:
        fill = rgb(h["fill"])
        # A point inside the node, clear of its white symbol.
        seen = pixel(shot, h["x"], h["y"] - 0.35 * h["h"] - top)
        where = f"{name}: {h['layer']} {h['state']} fill={fill} pixel={seen}"
        if h["state"] == BAD:
            assert is_red(fill) and is_red(seen), where
            assert h["word"] == "broken", where
        elif h["state"] == OK:
            assert is_green(fill) and is_green(seen), where
            assert h["word"] == "fine", where
        else:  # a ring: page-coloured inside, a grey dashed stroke
            assert is_light(fill) and is_light(seen), where
            stroke = rgb(h["stroke"])
            assert max(stroke) - min(stroke) < 30 and 60 < stroke[0] < 180, where
            assert h["word"] in ("not reached", "not looked at"), where


@pytest.mark.parametrize("name", sorted(DECISIVE))
def test_decisive_evidence_on_its_hop_and_rule_link(browser: DevTools,
                                                    pages: dict[tuple[str, str], Path],
                                                    name: str) -> None:
    load(browser, pages[(name, "en")])
    layer, text = DECISIVE[name]
    got = browser.evaluate("""(async () => {
        const svg = [...document.querySelectorAll('svg.gd-path')]
            .find(s => getComputedStyle(s).display !== 'none');
        const boxes = [...svg.querySelectorAll('rect.box')];
        const hop = boxes.length === 1 ? boxes[0].closest('g.hop') : null;
        const link = hop && hop.querySelector('a');
        const href = link && link.getAttribute('href');
        const target = href && document.getElementById(href.slice(1));
        link.dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true}));
        await new Promise(r => setTimeout(r, 200));
        return {boxes: boxes.length, layer: hop && hop.dataset.layer,
                state: hop && hop.dataset.state, text: hop && hop.textContent,
                target: target && target.tagName, open: target && target.open,
                hash: location.hash};
    })()""")
    assert got["boxes"] == 1 and got["layer"] == layer and got["state"] == BAD, got
    assert text in got["text"], got
    # The rule's page embedded in the report, opened when the link is followed.
    assert got["target"] == "DETAILS" and got["open"] is True, got
    assert got["hash"].startswith("#rule-"), got


def _text_overflow(dt: DevTools) -> list[str]:
    """Text of the shown pictures that runs past the picture's right edge."""
    result: list[str] = dt.evaluate("""(() => {
        const out = [];
        for (const svg of document.querySelectorAll('svg.gd-path')) {
            if (getComputedStyle(svg).display === 'none') continue;
            const right = svg.viewBox.baseVal.width;
            for (const t of svg.querySelectorAll('text')) {
                const b = t.getBBox();
                if (b.x + b.width > right + 0.5) out.push(Math.round(b.x + b.width) + ' > '
                                                          + right + ': ' + t.textContent);
            }
        }
        return out;
    })()""")
    return result


@pytest.mark.parametrize("key", [("relative-import", "zh-CN"), ("relative-import", "en"),
                                 ("service-stopped", "en"), ("db-down-startup", "en")])
def test_fits_a_phone_and_the_text_fits_the_picture(browser: DevTools,
                                                    pages: dict[tuple[str, str], Path],
                                                    key: tuple[str, str]) -> None:
    load(browser, pages[key])
    assert _text_overflow(browser) == []
    load(browser, pages[key], PHONE)
    try:
        got = browser.evaluate("""(() => {
            const shown = [...document.querySelectorAll('svg.gd-path')]
                .filter(s => getComputedStyle(s).display !== 'none');
            return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                    shown: shown.map(s => s.classList.contains('narrow') ? 'narrow' : 'wide'),
                    width: shown.map(s => s.getBoundingClientRect().width)};
        })()""")
        assert got["inner"] == 390
        assert got["scroll"] <= 390, f"the page is {got['scroll']}px wide on a 390px phone"
        assert got["shown"] == ["narrow"] and 300 <= got["width"][0] <= 370, got
        assert _text_overflow(browser) == []
    finally:
        browser.send("Emulation.setDeviceMetricsOverride", DESKTOP)


def pdftotext() -> str:
    found = shutil.which("pdftotext")
    if found:
        return found
    reason = "pdftotext is not installed (scripts/test installs Debian's poppler-utils)"
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


def test_prints_light_and_the_path_is_in_the_pdf(browser: DevTools,
                                                 pages: dict[tuple[str, str], Path],
                                                 tmp_path: Path) -> None:
    tool = pdftotext()
    load(browser, pages[("service-stopped", "en")])
    # A reader in dark mode prints: the print palette is the light one, not the screen's.
    browser.send("Emulation.setEmulatedMedia", {
        "media": "print", "features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    try:
        [hops] = browser.evaluate(HOPS_JS)
        assert [h["state"] for h in hops] == EXPECTED["service-stopped"]
        assert rgb(hops[0]["fill"]) == (207, 34, 46) and rgb(hops[1]["fill"]) == (26, 127, 55)
        text_fill = browser.evaluate(
            "getComputedStyle(document.querySelector('svg.gd-path.wide text')).fill")
        assert rgb(text_fill) == (0, 0, 0)
    finally:
        browser.send("Emulation.setEmulatedMedia", {"media": "", "features": []})
    pdf = base64.b64decode(browser.send("Page.printToPDF", {"printBackground": False},
                                        timeout=60)["data"])
    assert pdf.startswith(b"%PDF-") and len(pdf) > 10_000
    (tmp_path / "r.pdf").write_bytes(pdf)
    text = subprocess.run([tool, "-layout", str(tmp_path / "r.pdf"), "-"], capture_output=True,
                          text=True, check=True, timeout=60).stdout
    # The picture's words: each layer, the states, the evidence on the unit's hop.
    for word in ("LISTENER", "PROCESS", "not reached", "nothing listens here",
                 "root cause: GD-SVC-001 service-not-running", "ActiveState=inactive"):
        assert word in text, f"{word!r} is not in the printed PDF"


def _cjk_fonts(dt: DevTools, selector: str) -> list[str]:
    """The fonts Chromium really drew an element's text with."""
    root = dt.send("DOM.getDocument")["root"]["nodeId"]
    node = dt.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = dt.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return [f["familyName"] for f in fonts]


@pytest.mark.parametrize(("lang", "png"), [("en", "report-en.png"), ("zh-CN", "report-zh.png")])
def test_screenshots_of_the_report(browser: DevTools, pages: dict[tuple[str, str], Path],
                                   lang: str, png: str) -> None:
    load(browser, pages[("relative-import", lang)], SHOT)
    if lang == "zh-CN":
        fonts = _cjk_fonts(browser, "#chain h2")
        assert any("CJK" in f or "WenQuanYi" in f or "Hei" in f for f in fonts), (
            f"the Chinese heading is drawn with {fonts}: no CJK font (scripts/test installs "
            "fonts-noto-cjk)")
    time.sleep(0.2)
    bottom = browser.evaluate("Math.ceil(document.querySelector('#chain figure')"
                              ".getBoundingClientRect().bottom) + 12")
    clip = {"x": 0, "y": 0, "width": SHOT["width"], "height": min(bottom, SHOT["height"]),
            "scale": 1}
    shot = base64.b64decode(browser.send("Page.captureScreenshot",
                                         {"format": "png", "clip": clip})["data"])
    width, height, _rows = png_pixels(shot)
    assert width == SHOT["width"] and 700 <= height <= SHOT["height"], (width, height)
    found = colours(shot)
    assert len(found) > 20, len(found)
    assert any(is_red(c) for c in found) and any(is_green(c) for c in found)
    if os.environ.get("GD_UPDATE_SCREENSHOT"):
        IMG.mkdir(parents=True, exist_ok=True)
        (IMG / png).write_bytes(shot)
    # The committed picture is a real PNG of that width (its pixels are not compared).
    committed = IMG / png
    assert committed.exists(), f"{committed}: run with GD_UPDATE_SCREENSHOT=1"
    assert png_pixels(committed.read_bytes())[0] == SHOT["width"]
