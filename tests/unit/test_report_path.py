"""The request path's hop states (report/path.py), on the real reports of lab recordings,
and how the terminal, Markdown and SVG show them: one derivation, three pictures."""

from __future__ import annotations

import io
import re

import pytest
from markupsafe import escape
from report_cases import RECORDINGS, decisive_line, diagnosis

from gatewaydoctor.diagnose import Chain, Hop
from gatewaydoctor.findings import Excerpt
from gatewaydoctor.i18n import set_language
from gatewaydoctor.redact import redact
from gatewaydoctor.report import markdown, svg, terminal
from gatewaydoctor.report.path import BROKEN, OK, ORDER, UNKNOWN, Path, path_of, paths, slots
from gatewaydoctor.report.visible import visible


def states(name: str) -> dict[str, tuple[str, str]]:
    """layer -> (state, detail) of a recording's one path."""
    [p] = paths(diagnosis(name))
    assert [h.layer for h in p.hops] == list(ORDER)
    return {h.layer: (h.state, h.detail) for h in p.hops}


def only_path(name: str) -> Path:
    [p] = paths(diagnosis(name))
    return p


def test_healthy_every_hop_green() -> None:
    for name in ("healthy", "healthy-gunicorn", "supervisor-healthy"):
        p = only_path(name)
        assert [h.layer for h in p.hops] == list(ORDER)
        assert {h.state for h in p.hops} == {OK}, name
        assert p.decisive is None and all(h.seen for h in p.hops)


def test_app_stopped_the_listener_is_red_not_the_upstream() -> None:
    # systemctl stop: nginx points where the unit binds (fine), nothing listens there (red),
    # so no process is reached; the unit is red and holds the root cause.
    s = states("service-stopped")
    assert s["url"][0] == BROKEN
    assert s["server"][0] == s["location"][0] == OK
    assert s["upstream"] == (OK, "a service is configured to listen here")
    assert s["listener"] == (BROKEN, "nothing listens here")
    assert s["process"] == (UNKNOWN, "not reached")
    assert s["unit"][0] == BROKEN
    p = only_path("service-stopped")
    assert p.decisive is not None and p.decisive.layer == "unit"
    assert p.decisive.cause is not None and p.decisive.cause.symbol == "service-not-running"
    listener = next(h for h in p.hops if h.layer == "listener")
    # nginx's own "connection refused" line moved from the upstream to the listener.
    assert not listener.seen and "Connection refused" in listener.evidence[0].text


def test_upstream_mismatch_the_upstream_is_red_and_the_rest_not_reached() -> None:
    s = states("upstream-mismatch")
    assert s["upstream"][0] == BROKEN
    assert [s[x] for x in ("listener", "process", "unit", "log")] == [(UNKNOWN, "not reached")] * 4
    p = only_path("upstream-mismatch")
    assert p.decisive is not None and p.decisive.layer == "upstream"
    assert p.decisive.cause is not None and p.decisive.cause.symbol == "upstream-mismatch"


def test_db_down_the_service_and_its_log_are_red() -> None:
    # At startup: the app never listens; the unit restarts, its log has the traceback.
    s = states("db-down-startup")
    assert s["listener"][0] == BROKEN and s["unit"][0] == BROKEN and s["log"][0] == BROKEN
    assert only_path("db-down-startup").decisive.cause.category == "database.unreachable"  # type: ignore[union-attr]
    # On /health only: everything up to the process is fine, the unit holds the cause
    # (its state is active, but the database it needs is down).
    s = states("db-down-health")
    assert all(s[x][0] == OK for x in ("server", "location", "upstream", "listener", "process"))
    assert s["unit"][0] == BROKEN and s["url"][0] == BROKEN


def test_a_cause_on_a_running_unit_reddens_it() -> None:
    # The OOM killer: systemd says active/running; the root cause sits on the unit anyway.
    s = states("oom-killed")
    assert s["unit"] == (BROKEN, "active/running")
    assert s["listener"][0] == s["process"][0] == OK


def test_nginx_causes_sit_on_the_server_block() -> None:
    s = states("nginx-config-invalid")
    assert s["server"][0] == BROKEN
    assert all(s[x][0] == OK for x in ("location", "upstream", "listener", "process", "unit"))


@pytest.mark.parametrize("name", RECORDINGS)
def test_every_broken_recording_has_its_decisive_evidence_on_a_red_hop(name: str) -> None:
    d = diagnosis(name)
    for p in paths(d):
        assert all(h.state in (OK, BROKEN, UNKNOWN) for h in p.hops)
        if d.verdict == "healthy":
            assert {h.state for h in p.hops} == {OK}, name
            continue
        hop = p.decisive
        assert hop is not None and hop.state == BROKEN, name
        assert hop.cause is d.causes[0], name
        line = decisive_line(name)
        assert line is None or line in [e.text for e in hop.cause.evidence]
        # ... and the picture draws it, in the hop's group (its start: a long line wraps).
        picture = str(svg.render(p, 760, lambda symbol: symbol, "wide"))
        group = picture[picture.index(f'data-layer="{hop.layer}" data-state="broken"'):]
        group = group[:group.index("</g><g")] if "</g><g" in group else group
        shown = line or hop.cause.evidence[0].text
        assert str(escape(visible(redact(shown))[:30])) in group, name


def hop(layer: str, status: str = "ok", name: str = "") -> Hop:
    return Hop(layer, name or layer, status, "", (), ())


def test_missing_layers_are_slotted_in_and_a_second_upstream_starts_again() -> None:
    hops = [hop("url"), hop("server"), hop("location"), hop("location"),
            hop("upstream", "failed", "a"), hop("upstream", name="b"), hop("listener"),
            hop("unit")]
    got = [s if isinstance(s, str) else f"{s.layer}:{s.name}" for s in slots(hops)]
    assert got == ["url:url", "server:server", "location:location", "location:location",
                   "upstream:a", "listener", "process", "unit", "log",
                   "upstream:b", "listener:listener", "process", "unit:unit", "log"]
    p = path_of(Chain("x", tuple(hops)), ())
    # Behind the first (broken) upstream nothing was reached; the second one is reached.
    details = [(h.layer, h.state, h.detail) for h in p.hops if not h.seen]
    assert details == [("listener", UNKNOWN, "not reached"), ("process", UNKNOWN, "not reached"),
                       ("unit", UNKNOWN, "not reached"), ("log", UNKNOWN, "not reached"),
                       ("process", UNKNOWN, "not looked at"), ("log", UNKNOWN, "not looked at")]


def test_a_chain_without_nginx_has_its_nginx_hops_grey() -> None:
    shown = Excerpt("systemctl show api.service", "ActiveState=failed")
    chain = Chain("api.service", (Hop("unit", "api.service", "failed", "failed/failed",
                                      (shown,), ()),))
    p = path_of(chain, ())
    assert [(h.layer, h.state) for h in p.hops][:6] == [(x, UNKNOWN) for x in ORDER[:6]]
    assert p.hops[6].state == BROKEN and p.decisive is p.hops[6]
    # No cause sits on it: the picture shows the hop's own evidence there, with no rule.
    picture = str(svg.render(p, 360, lambda symbol: symbol, "narrow"))
    box = picture[picture.index('class="box"'):]
    assert "ActiveState=failed" in box and "<a " not in picture


def test_terminal_tree_tells_states_by_symbol_without_colour() -> None:
    out = io.StringIO()
    terminal.render(diagnosis("service-stopped"), out, color=False)
    text = out.getvalue()
    assert "\x1b[" not in text
    assert re.search(r"✓ upstream fine 127\.0\.0\.1:8000", text)
    assert re.search(r"✗ listener broken 127\.0\.0\.1:8000 nothing listens here", text)
    assert re.search(r"○ process not reached\n", text)
    assert "◆ root cause: GD-SVC-001 service-not-running" in text
    coloured = io.StringIO()
    terminal.render(diagnosis("service-stopped"), coloured, color=True)
    # The same symbols, in colour: red for the broken listener, green for the fine upstream.
    assert re.search(r"\x1b\[1;31m✗\x1b\[0m \x1b\[1mlistener", coloured.getvalue())
    assert re.search(r"\x1b\[32m✓\x1b\[0m \x1b\[1mupstream", coloured.getvalue())


def test_markdown_marks_each_hop() -> None:
    text = markdown.render(diagnosis("upstream-mismatch"))
    assert "4. ❌ **upstream** (broken) `127.0.0.1:8000`" in text
    assert "5. ⚪ **listener** (not reached)" in text
    assert "   - **root cause:** `GD-NGX-003` `upstream-mismatch`" in text
    text = markdown.render(diagnosis("healthy"))
    marks = re.findall(r"^\d+\. (\S+) \*\*", text, re.M)
    assert marks == ["✅"] * 8


def test_svg_states_evidence_and_rule_link() -> None:
    p = only_path("service-stopped")
    picture = str(svg.render(p, 360, lambda symbol: f"rule-{symbol}", "narrow"))
    assert picture.startswith('<svg class="gd-path narrow"') and 'viewBox="0 0 360 ' in picture
    groups = re.findall(r'<g class="hop st-(\w+)" data-layer="(\w+)" data-state="(\w+)">',
                        picture)
    assert [(layer, state) for _c, layer, state in groups] == [
        (h.layer, h.state) for h in p.hops]
    assert all(c == s for c, _l, s in groups)
    # The decisive evidence sits in the unit's group with a link to the rule's page.
    unit = picture[picture.index('data-layer="unit"'):picture.index('data-layer="log"')]
    assert '<a href="#rule-service-not-running"' in unit and "ActiveState=inactive" in unit
    assert "<script" not in picture and "http" not in picture.replace(
        "http://www.w3.org/2000/svg", "").replace("http://127.0.0.1:8000", "")


def test_svg_text_is_translated() -> None:
    set_language("zh-CN")
    p = only_path("service-stopped")
    picture = str(svg.render(p, 360, lambda symbol: symbol, "narrow"))
    assert "未到达" in picture and "故障" in picture and "根因" in picture
    assert "not reached" not in picture


def test_wrap_fits_the_width_and_cuts_with_an_ellipsis() -> None:
    assert svg.wrap("GET 127.0.0.1:80/api/health Host: 127.0.0.1", 300, 7.3, 2) == [
        "GET 127.0.0.1:80/api/health Host:", "127.0.0.1"]
    lines = svg.wrap("x" * 200, 73, 7.3, 3)
    assert lines == ["x" * 10, "x" * 10, "x" * 9 + "…"]
    # A CJK character takes two cells.
    assert svg.wrap("数据库连接被拒绝了", 73, 7.3, 1) == ["数据库连…"]
    assert svg.wrap("", 100, 7.3, 2) == []
