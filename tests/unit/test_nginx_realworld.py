"""Real-world nginx configurations crossplane rejects or misreads, and request routing.

The dumps in tests/data/nginx/ are real `nginx -T` output of nginx 1.22.1 (Debian 12),
with Debian's lua-nginx-module 0.10.23 loaded for the Lua ones; make_dumps.sh
regenerates them from the configuration directories beside them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import crossplane  # type: ignore[import-untyped]
import pytest
from cases import evidence_file
from conftest import ROOT, RULE_FIXTURES

from gatewaydoctor.agent import nginxscan
from gatewaydoctor.diagnose import coverage
from gatewaydoctor.evidence import Evidence
from gatewaydoctor.facts import location_for, server_for
from gatewaydoctor.formats import nginx as nginx_dump
from gatewaydoctor.parse import build_facts
from gatewaydoctor.parse.nginx_config import read_config

DATA = ROOT / "tests" / "data" / "nginx"


def dump(name: str) -> str:
    return (DATA / f"{name}.dump").read_text()


def test_crossplane_really_rejects_the_lua_dump(tmp_path: Path) -> None:
    path, content = nginx_dump.split_dump(dump("lua"))[0]
    (tmp_path / "nginx.conf").write_text(content)
    result = crossplane.parse(str(tmp_path / "nginx.conf"), single=True, catch_errors=True,
                              check_ctx=False, check_args=False)
    assert result["status"] == "failed"


def test_lua_blocks_are_read_tolerantly_and_said_so() -> None:
    cfg = read_config(dump("lua"), "read from nginx -T")
    assert cfg.parser == "crossplane+tolerant"
    assert "/tmp/gdngx/lua/nginx.conf" in (cfg.note or "") and "tolerant" in (cfg.note or "")
    assert cfg.errors
    [server] = cfg.servers
    assert server.names == ("lua.example.test",)
    by_path = {loc.path: loc for loc in server.locations}
    assert set(by_path) == {"/api/", "/ping", "/docs"}
    api = by_path["/api/"]
    assert api.upstream_group == "app" and [e.label for e in api.endpoints] == ["127.0.0.1:8000"]
    assert by_path["/ping"].modifier == "=" and by_path["/ping"].proxy_pass is None
    timeout = cfg.setting("proxy_read_timeout", server, by_path["/docs"])
    assert timeout is not None and timeout.args == ("5s",)
    assert timeout.where == "/tmp/gdngx/lua/nginx.conf:49"
    # The Lua code is one argument, braces in its strings and long comments included.
    init = next(d for d in cfg.globals if d.name == "init_by_lua_block")
    assert '[==[ {"a": "]]"} ]==]' in init.args[0] and init.context == "http"
    assert [u.name for u in cfg.upstreams] == ["app"]


def test_newer_lua_directive_crossplane_misreads() -> None:
    """crossplane "parses" server_rewrite_by_lua_block and swallows the location after it."""
    cfg = read_config(dump("lua-newer"), "read from nginx -T")
    assert cfg.parser == "crossplane+tolerant"
    assert "server_rewrite_by_lua_block" in (cfg.note or "")
    [server] = cfg.servers
    assert [(loc.path, loc.proxy_pass) for loc in server.locations] == [
        ("/api/", "http://127.0.0.1:8000")]


def test_includes_in_upstream_location_and_map() -> None:
    cfg = read_config(dump("includes"), "read from nginx -T")
    assert cfg.parser == "crossplane"
    [backend] = cfg.upstreams
    assert [e.label for e in backend.servers] == ["127.0.0.1:8000", "127.0.0.1:8001"]
    [server] = cfg.servers
    api = location_for(cfg, "/api/users", "inc.example.test")
    assert api is not None and api.where == "/tmp/gdngx/includes/conf.d/locations.inc:1"
    assert api.upstream_group == "backend"
    timeout = cfg.setting("proxy_read_timeout", server, api)
    assert timeout is not None and timeout.where == "/tmp/gdngx/includes/conf.d/proxy.inc:1"
    root = location_for(cfg, "/other")
    assert root is not None and [e.label for e in root.endpoints] == ["unix:/run/app/app.sock"]


@pytest.mark.parametrize(("path", "expected"), [
    ("/api/users", "/api/"),
    ("/api/logo.png", r"\.(png|jpe?g)$"),        # a regex beats a plain prefix
    ("/static/logo.png", "/static/"),            # ^~ stops the regex search
    ("/files/notes.txt", "^/files/(?<name>[a-z]+)\\.txt$"),
    ("/img/A.JPG", r"\.(png|jpe?g)$"),           # ~* is case-insensitive
    ("/files/Notes.txt", "/"),                   # ~ is not
    ("/elsewhere?x=1", "/"),
])
def test_location_matching_like_nginx(path: str, expected: str) -> None:
    cfg = read_config(dump("includes"), "read from nginx -T")
    loc = location_for(cfg, path, "inc.example.test")
    assert loc is not None and loc.path == expected


def test_agent_scan_finds_the_same_targets_without_crossplane() -> None:
    lua = nginxscan.scan(dump("lua"))
    assert [loc["path"] for loc in lua["servers"][0]["locations"]] == ["/api/", "= /ping",
                                                                       "/docs"]
    assert lua["upstreams"] == {"app": ["127.0.0.1:8000"]}
    newer = nginxscan.scan(dump("lua-newer"))
    assert newer["servers"][0]["locations"] == [{"path": "/api/",
                                                 "proxy_pass": "http://127.0.0.1:8000"}]
    inc = nginxscan.scan(dump("includes"))
    assert inc["upstreams"] == {"backend": ["127.0.0.1:8000", "127.0.0.1:8001"]}
    assert {"path": "/", "proxy_pass": "http://unix:/run/app/app.sock"} in \
        inc["servers"][0]["locations"]


def test_tolerant_lexer_on_lua_edge_cases() -> None:
    text = ('set_by_lua_block $x { return "}" -- } \n }\n'
            'content_by_lua_block { local s = [=[ ]] } ]=] }\n'
            "location / { return 200 'a\\'b'; }\n")
    tree = nginx_dump.tree(text)
    assert [d["directive"] for d in tree] == ["set_by_lua_block", "content_by_lua_block",
                                              "location"]
    assert tree[0]["args"][0] == "$x" and 'return "}"' in tree[0]["args"][1]
    assert tree[2]["block"][0]["args"] == ["200", "a'b"]
    # Unclosed blocks are closed at the end and a stray brace is skipped, never an error.
    assert nginx_dump.tree("} http { server { listen 80;")[0]["block"][0]["directive"] == "server"


def test_coverage_names_the_parser() -> None:
    ev = Evidence.from_dict({
        "schema": "gatewaydoctor.evidence/1", "host": "h",
        "items": {"nginx.dump": {"kind": "command", "argv": ["nginx", "-T"], "rc": 0,
                                 "stdout": dump("lua")}}})
    facts = build_facts(ev)
    [cov] = [c for c in coverage(facts) if c.area == "nginx configuration"]
    assert "crossplane+tolerant" in cov.detail and "/tmp/gdngx/lua/nginx.conf" in cov.detail


def _cli(*args: str) -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-m", "gatewaydoctor", "diagnose", *args, "--json"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode in (0, 1), proc.stderr
    report: dict[str, object] = json.loads(proc.stdout)
    return report


def test_skip_and_only_by_id_and_symbol_from_the_command_line(tmp_path: Path) -> None:
    fixture = str(evidence_file(RULE_FIXTURES / "rate-limited" / "fires_lab.json", tmp_path))

    def rules(report: dict[str, object]) -> list[str]:
        return [str(f["rule"]) for f in report["findings"]]  # type: ignore[attr-defined]

    assert rules(_cli("--evidence", fixture))[0] == "GD-NGX-007"
    for name in ("rate-limited", "GD-NGX-007"):
        assert "GD-NGX-007" not in rules(_cli("--evidence", fixture, "--skip", name))
    for name in ("rate-limited", "GD-NGX-007"):
        assert rules(_cli("--evidence", fixture, "--only", name, "probe-failed")) == [
            "GD-NGX-007", "GD-GEN-001"]
    proc = subprocess.run([sys.executable, "-m", "gatewaydoctor", "diagnose", "--evidence",
                           fixture, "--only", "rate-limit"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and "no rule is called 'rate-limit'" in proc.stderr


@pytest.mark.parametrize(("host", "port", "upstream"), [
    ("api.example.test", 8083, "127.0.0.1:8000"),         # exact name
    ("www.example.test:8083", None, "127.0.0.1:8001"),    # *.example.test
    ("acme.tenants.test", 8083, "127.0.0.1:8002"),        # ~regex with a PCRE named group
    ("unknown.test", 8083, None),                         # default_server: return 444
    ("api.example.test", 8084, "127.0.0.1:8003"),         # another port's default server
])
def test_server_selection_like_nginx(host: str, port: int | None, upstream: str | None) -> None:
    cfg = read_config(dump("servers"), "read from nginx -T")
    server = server_for(cfg, host, port)
    assert server is not None
    labels = [ep.label for loc in server.locations for ep in loc.endpoints]
    assert labels == ([upstream] if upstream else [])
