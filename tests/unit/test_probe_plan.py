"""What the agent probes (the configuration's own paths, the URL's server block) and how the
reader takes a URL whose name does not lead to this host."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from gatewaydoctor.agent import nginxscan, probes
from gatewaydoctor.diagnose import diagnose
from gatewaydoctor.evidence import Evidence
from gatewaydoctor.formats import sources
from gatewaydoctor.formats.vhost import match_name, proxied_path
from gatewaydoctor.i18n import set_language
from gatewaydoctor.parse import build_facts
from gatewaydoctor.rules.registry import all_rules, run_rules

LAB = Path(__file__).resolve().parents[1] / "data" / "lab"

DUMP = """# configuration file /etc/nginx/nginx.conf:
http {
    upstream app { server 127.0.0.1:9000; }
    server { listen 80 default_server; server_name _; location / { return 404; } }
    server {
        listen 80; listen [::]:80;
        server_name shop.test www.shop.test;
        location ~ \\.php$ { return 403; }
        location @fallback { proxy_pass http://app; }
        location /static/ { root /srv; }
        location /v1/ { proxy_pass http://app/api/; }
        location = /healthz { proxy_pass http://app/ping; }
        location ^~ /admin/ { proxy_pass http://127.0.0.1:9100; }
        location = /status { return 200; }
    }
    server {
        listen 8443 ssl;
        server_name *.example.test;
        location ~ ^/x { proxy_pass http://unix:/run/a.sock:/pre/; }
    }
    server {
        listen 8080;
        server_name behind.lb.test;
        location / { proxy_pass http://$backend; }
    }
}
"""


@pytest.fixture(scope="module")
def scan() -> dict[str, Any]:
    return nginxscan.scan(DUMP)


def _server(scan: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in scan["servers"] if name in s["server_name"])


def test_server_paths_are_the_configurations_own_most_telling_first(
        scan: dict[str, Any]) -> None:
    # Exact locations (proxying first), proxying prefixes, then the root; regex and named
    # locations name no path; four at most.
    assert probes.server_paths(_server(scan, "shop.test")) == [
        "/healthz", "/status", "/v1/", "/admin/"]
    assert probes.server_paths(_server(scan, "shop.test"), limit=6) == [
        "/healthz", "/status", "/v1/", "/admin/", "/", "/static/"]
    assert probes.server_paths(_server(scan, "_")) == ["/"]


def test_seed_paths_only_where_the_configuration_names_no_path(scan: dict[str, Any]) -> None:
    assert probes.server_paths(_server(scan, "*.example.test")) == [
        "/", "/health", "/api/health", "/docs"]


def test_upstreams_get_the_paths_their_locations_send(scan: dict[str, Any]) -> None:
    planned = probes.upstream_paths(scan["servers"], scan["upstreams"])
    # `= /healthz` → http://app/ping sends /ping; `/v1/` → http://app/api/ sends /api/.
    assert planned["127.0.0.1:9000"] == ["/ping", "/api/"]
    assert planned["127.0.0.1:9100"] == ["/admin/"]  # no URI part: the path as it came
    # A regex location only: the configuration names no path for that socket.
    assert planned["unix:/run/a.sock"] == ["/health", "/api/health", "/docs"]
    assert all("$" not in ep for ep in planned)  # a variable target is decided per request


@pytest.mark.parametrize(("target", "location", "modifier", "path", "sent"), [
    ("http://app", "/api/", "", "/api/", "/api/"),
    ("http://app/", "/api/", "", "/api/", "/"),
    ("http://app/v2/", "/api/", "", "/api/users", "/v2/users"),
    ("http://app/ping", "/healthz", "=", "/healthz", "/ping"),
    ("http://[::1]:8000/x/", "/a/", "", "/a/b", "/x/b"),
    ("http://unix:/run/app.sock:/prefix/", "/", "", "/", "/prefix/"),
    ("http://unix:/run/app.sock", "/", "", "/q", "/q"),
    ("http://$upstream/x", "/", "", "/", None),
])
def test_proxied_path_applies_the_uri_part_as_nginx_does(
        target: str, location: str, modifier: str, path: str, sent: str | None) -> None:
    assert proxied_path(target, location, modifier, path) == sent


def test_the_url_is_asked_of_the_server_block_that_serves_its_name(
        scan: dict[str, Any]) -> None:
    assert probes.url_targets(scan["servers"], "http://www.shop.test/x?a=1") == (
        "www.shop.test", "/x?a=1", [("127.0.0.1:80", False), ("[::1]:80", False)])
    assert probes.url_targets(scan["servers"], "https://a.example.test:8443/") == (
        "a.example.test:8443", "/", [("127.0.0.1:8443", True)])
    # A load balancer ends TLS and forwards to 8080: the name's block on another port.
    assert probes.url_targets(scan["servers"], "https://behind.lb.test/p") == (
        "behind.lb.test", "/p", [("127.0.0.1:8080", False)])
    # No block names it: the port's default server answers.
    assert probes.url_targets(scan["servers"], "http://other.test/") == (
        "other.test", "/", [("127.0.0.1:80", False)])
    assert probes.url_targets(scan["servers"], "http://other.test:9999/") is None
    assert probes.url_targets(scan["servers"], "ftp://shop.test/") is None


def test_the_urls_path_is_asked_of_the_app_as_nginx_would_send_it(
        scan: dict[str, Any]) -> None:
    servers, upstreams = scan["servers"], scan["upstreams"]
    assert probes.url_upstream_paths(servers, upstreams, "http://shop.test/v1/users?a=1") == {
        "127.0.0.1:9000": "/api/users?a=1"}
    assert probes.url_upstream_paths(servers, upstreams, "http://shop.test/healthz") == {
        "127.0.0.1:9000": "/ping"}
    assert probes.url_upstream_paths(servers, upstreams, "http://shop.test/admin/x") == {
        "127.0.0.1:9100": "/admin/x"}
    assert probes.url_upstream_paths(servers, upstreams, "http://shop.test/static/a") == {}
    assert probes.url_upstream_paths(servers, upstreams, "http://behind.lb.test/p") == {}


def test_server_name_order_is_nginxs() -> None:
    names = [["*.example.test"], ["www.example.*"], ["~^w+\\.example\\.test$"],
             ["www.example.test"]]
    assert match_name(names, "www.example.test") == (3, "www.example.test", "exact")
    assert match_name(names[:3], "www.example.test") == (0, "*.example.test",
                                                         "leading wildcard")
    assert match_name(names[1:3], "www.example.test")[1:] == ("www.example.*",  # type: ignore[index]
                                                              "trailing wildcard")
    assert match_name(names[2:3], "ww.example.test") == (0, "~^w+\\.example\\.test$", "regex")
    assert match_name([["a.test"]], "b.test") is None


def test_addresses_are_told_local_or_not() -> None:
    item = probes.resolve(sources.name_lookup("localhost"), "localhost", 80)
    assert {"address": "127.0.0.1", "local": True} in item["data"]["addresses"]
    assert probes._is_local("203.0.113.7") is False


# --- the reader: a URL whose name leads elsewhere


def _evidence(lookup: list[dict[str, Any]] | None, error: str | None = None,
              host: str = "app.example.test") -> Evidence:
    """The healthy lab recording, asked about http://app.example.test/api/health: the URL's
    own request got a 502 from a CDN in front; this host's nginx answered 200."""
    raw = json.loads((LAB / "healthy.json").read_text())
    raw = copy.deepcopy(raw)
    url = f"http://{host}/api/health"
    raw["target_url"] = url
    items = raw["items"]
    old = next(k for k in items if k.startswith("probe.http:url:"))
    probe = items.pop(old)
    probe["source"] = sources.http_probe(sources.VIA_URL, url)
    probe["data"].update(endpoint=f"{host}:80", host_header=host,
                         status=502, server="cloudflare", body_head="error code: 502")
    items[probe["source"]] = probe
    assert items["probe.http:nginx:app.example.test@127.0.0.1:80/api/health"]["data"][
        "status"] == 200
    if lookup is not None or error is not None:
        key = sources.name_lookup(host)
        items[key] = {"source": key, "kind": "probe", "data": {
            "probe": "resolve", "host": host, "port": 80,
            "addresses": lookup or [], "error": error, "errno": -2 if error else None}}
    return Evidence.from_dict(raw)


def _report(ev: Evidence) -> tuple[str, list[str], list[str]]:
    set_language("en")
    facts = build_facts(ev)
    d = diagnose(facts, run_rules(facts, all_rules()))
    return d.verdict, [f.symbol for f in d.causes], list(d.notes)


def test_a_name_resolving_to_another_machine_is_a_note_when_nginx_here_answers() -> None:
    verdict, causes, notes = _report(_evidence([{"address": "198.51.100.20", "local": False}]))
    assert (verdict, causes) == ("healthy", [])
    assert notes and "app.example.test resolves to 198.51.100.20" in notes[0]
    assert "answers HTTP 200" in notes[0]


def test_a_name_that_does_not_resolve_is_a_note() -> None:
    verdict, _causes, notes = _report(_evidence(None, "[Errno -2] Name or service not known"))
    assert verdict == "healthy"
    assert "does not resolve from this host ([Errno -2] Name or service not known)" in notes[0]


def test_a_name_that_leads_here_keeps_its_failure() -> None:
    verdict, causes, notes = _report(_evidence([{"address": "127.0.0.1", "local": True}]))
    assert verdict == "broken" and "probe-failed" in causes
    assert notes == []


def test_older_evidence_without_the_lookup_reads_as_before() -> None:
    verdict, causes, notes = _report(_evidence(None))
    assert verdict == "broken" and "probe-failed" in causes
    assert notes == []


def test_without_a_request_to_nginx_here_the_urls_failure_stands() -> None:
    # This host's nginx was not asked for the URL (the recording's requests name another
    # Host): the URL's own failure is the only evidence, and the note says why.
    verdict, causes, notes = _report(_evidence(
        [{"address": "198.51.100.20", "local": False}], host="shop.test"))
    assert verdict == "broken" and "probe-failed" in causes
    assert "no server block of this host's nginx serves that name" in notes[0]


@pytest.mark.parametrize("fmt", ["terminal", "json", "markdown", "html"])
@pytest.mark.parametrize(("lang", "said"), [
    ("en", "app.example.test resolves to 198.51.100.20 from this host"),
    ("zh-CN", "在本机上 app.example.test 解析为 198.51.100.20"),
])
def test_the_note_is_in_every_format_and_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, lang: str,
        said: str) -> None:
    from gatewaydoctor.cli import main

    evidence = tmp_path / "ev.json"
    evidence.write_text(json.dumps(
        _evidence([{"address": "198.51.100.20", "local": False}]).to_dict()))
    code = main(["diagnose", "--evidence", str(evidence), "--format", fmt, "--lang", lang])
    out = " ".join(capsys.readouterr().out.split())
    assert code == 0
    assert said in out

