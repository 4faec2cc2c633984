"""The router's decisions on our small configurations, and the report chain that shows them.

tests/unit/test_nginx_corpus.py checks the same configurations against real nginx; these
tests pin what each step says, and run where nginx cannot.
"""

from __future__ import annotations

from conftest import ROOT

from gatewaydoctor.diagnose import build_chains
from gatewaydoctor.facts import Facts, NginxConfig, Route, location_for, route, server_for
from gatewaydoctor.parse.nginx_config import read_config

DATA = ROOT / "tests" / "data" / "nginx-routing"


def config(name: str) -> NginxConfig:
    text = (DATA / f"{name}.conf").read_text()
    return read_config(f"# configuration file /etc/nginx/nginx.conf:\n{text}", "test")


def line(route_: Route) -> int | None:
    return route_.location.line if route_.location else None


def test_the_port_picks_the_server_block() -> None:
    cfg = config("listen")
    plain = route(cfg, "http://site.test/x")
    tls = route(cfg, "https://site.test/x")
    assert plain.server is not None and tls.server is not None
    assert plain.server.line != tls.server.line
    assert tls.endpoints[0].label == "127.0.0.1:9002"
    # an IP as Host reaches the port's default_server, not the first block
    assert route(cfg, "http://127.0.0.1:8080/x").endpoints[0].label == "127.0.0.1:9004"
    # a listen on the very address wins over the wildcard
    assert route(cfg, "http://site.test:8081/x", addr="127.0.0.2").endpoints[0].port == 9005
    assert route(cfg, "http://site.test:8081/x", addr="127.0.0.1").endpoints[0].port == 9006


def test_server_names_in_nginx_order() -> None:
    cfg = config("server-names")

    def port(url: str) -> int | None:
        return route(cfg, url).endpoints[0].port
    assert port("http://www.example.test/") == 9005      # exact beats *.example.test
    assert port("http://api.example.test/") == 9004      # leading wildcard
    assert port("http://www.example.org/") == 9006       # trailing wildcard
    assert port("http://app7.regex.test/") == 9002       # first regex in order
    assert port("http://www.example.test./") == 9005     # trailing dot dropped
    assert port("http://WWW.Example.Test/") == 9005      # case
    assert port("http://nobody.test/") == 9001           # default_server, not the first
    steps = route(cfg, "http://nobody.test/").steps
    assert any(s.kind == "server" and s.directive == "listen 80 default_server" for s in steps)


def test_location_matching_order() -> None:
    cfg = config("locations")
    by = {p: route(cfg, f"http://loc.test{p}") for p in (
        "/exact", "/exact/more", "/static/a.php", "/media/a.php", "/api/v1/users",
        "/nested/a.png", "/nested/inner/x", "/x.png")}
    assert by["/exact"].endpoints[0].port == 9001
    assert by["/exact/more"].endpoints[0].port == 9002
    assert by["/static/a.php"].handler == "static"         # ^~ stops the regexes
    assert by["/media/a.php"].handler == "fastcgi"         # a regex beats a plain prefix
    assert by["/api/v1/users"].endpoints[0].port == 9005   # longest prefix
    assert by["/nested/a.png"].handler == "grpc"           # nested regex inside its parent
    assert by["/nested/inner/x"].handler == "scgi"
    x_png = by["/x.png"]
    assert x_png.handler == "static" and x_png.location is not None
    assert x_png.location.path == r"\.(png|gif)$"          # the nested regex stays inside


def test_uri_is_normalised_before_matching() -> None:
    cfg = config("normalise")
    for raw in ("//api//x", "/%61pi/x", "/./api/x", "/other/../api/x"):
        assert route(cfg, f"http://n.test{raw}").endpoints[0].port == 9002, raw
    assert route(cfg, "http://n.test/../x").status == 400


def test_internal_redirects_are_followed() -> None:
    cfg = config("redirects")
    app = route(cfg, "http://r.test/app/x", files=())
    assert [loc.path for loc in app.locations] == ["/app/", "@app"]
    assert {e.label for e in app.endpoints} == {"127.0.0.1:9001", "unix:/run/app.sock"}
    assert app.upstream == "app"
    tea = route(cfg, "http://r.test/teapot")
    assert tea.handler == "uwsgi" and tea.endpoints[0].label == "unix:/run/tea.sock"
    assert route(cfg, "http://r.test/old/x").locations[-1].path == "@app"
    moved = route(cfg, "http://r.test/moved/x")
    assert (moved.status, moved.redirect) == (301, "https://r.test/new/")
    assert route(cfg, "http://r.test/ifp/x").endpoints[0].port == 9002
    plain = route(cfg, "http://plain.test/x")
    assert (plain.status, plain.redirect, plain.location) == (
        301, "https://plain.test/x", None)
    assert route(cfg, "http://srvrewrite.test/x").endpoints[0].port == 9006
    internal = route(cfg, "http://r.test/internal/x")
    assert (internal.status, internal.location) == (404, None)


def test_try_files_uses_the_files_the_evidence_lists() -> None:
    cfg = config("redirects")
    unknown = route(cfg, "http://r.test/app/x")
    assert unknown.runtime and unknown.handler == "proxy"
    found = route(cfg, "http://r.test/app/x", files={"html/app/x"})
    assert found.handler == "static" and not found.runtime


def test_old_entry_points_still_answer() -> None:
    cfg = config("locations")
    server = server_for(cfg, "loc.test")
    loc = location_for(cfg, "/api/v1/x", "loc.test")
    assert server is not None and loc is not None and loc.path == "/api/v1/"


def _facts(cfg: NginxConfig, url: str) -> Facts:
    return Facts(host="h", target_url=url, nginx_config=cfg, nginx_test=None,
                 nginx_errors=None, access_log=None, units=None, journal=None,
                 tracebacks=None, listeners=None, processes=None, probes=None,
                 import_probes=None, pythons=None, env_files=None, listings=None)


def test_the_chain_shows_exactly_the_route() -> None:
    cfg = config("redirects")
    chain = build_chains(_facts(cfg, "http://r.test/app/x"), [])[0]
    layers = [(h.layer, h.name.split(" ")[0]) for h in chain.hops]
    assert layers[:3] == [("server", "server"), ("location", "/app/"), ("location", "@app")]
    assert chain.hops[1].detail == "try_files $uri @app"
    assert chain.hops[2].detail == "proxy_pass http://app"
    assert [h.name for h in chain.hops if h.layer == "upstream"] == [
        "127.0.0.1:9001", "unix:/run/app.sock"]
    assert not any("None" in h.detail for h in chain.hops)
    redirect = build_chains(_facts(cfg, "http://plain.test/x"), [])[0]
    assert [h.layer for h in redirect.hops] == ["server"]
    assert "return 301 https://plain.test/x" in redirect.hops[0].detail


def test_the_url_is_routed_with_its_schemes_port() -> None:
    cfg = config("listen")
    plain = build_chains(_facts(cfg, "http://site.test/x"), [])[0]
    tls = build_chains(_facts(cfg, "https://site.test/x"), [])[0]
    assert [h.name for h in plain.hops if h.layer == "upstream"] == ["127.0.0.1:9001"]
    assert [h.name for h in tls.hops if h.layer == "upstream"] == ["127.0.0.1:9002"]


def test_no_corpus_configuration_crashes_the_router() -> None:
    """Every server × port × location path of every corpus configuration routes."""
    import pytest
    from nginx_corpus import corpus_dir, corpus_entries

    corpus = corpus_dir()
    if corpus is None:
        if __import__("os").environ.get("CI"):
            pytest.fail("the shared nginx corpus is needed in CI")
        pytest.skip("the shared nginx corpus (../shared/nginx-corpus) is not here")
    routed = 0
    for entry in corpus_entries(corpus):
        cfg = read_config(entry.dump(), "corpus")
        for server in cfg.servers:
            hosts = [n for n in server.names if n][:2] + ["unknown.test", "127.0.0.1"]
            ports = {li.endpoint.port or 80 for li in server.listens} or {80}
            paths = ["/", "//x/../", "/%2e%2e/x"] + [
                loc.path for loc in server.locations if loc.modifier in ("", "^~", "=")]
            for host in hosts:
                for port in ports:
                    for scheme in ("http", "https"):
                        for path in paths[:12]:
                            r = route(cfg, (scheme, host, port, path or "/"))
                            assert r.steps, (entry.name, host, port, path)
                            routed += 1
    assert routed > 1000


def test_steps_name_the_deciding_directive_and_where() -> None:
    cfg = config("listen")
    r = route(cfg, "http://127.0.0.1:8080/x")
    listen, server = r.steps[0], r.steps[1]
    assert listen.kind == "listen" and listen.where == "/etc/nginx/nginx.conf:12"
    assert server.directive == "listen 8080 default_server"
    assert server.where == "/etc/nginx/nginx.conf:13"
    wrong = route(cfg, "https://site.test:80/x")
    assert any("without ssl" in s.text for s in wrong.steps)


def test_a_unix_socket_listen() -> None:
    cfg = read_config("# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp {\n"
                      "server { listen unix:/run/nginx.sock; server_name s.test;\n"
                      "location / { uwsgi_pass unix:/run/app.sock; } } }\n", "test")
    r = route(cfg, ("http", "s.test", 80, "/x"), addr="unix:/run/nginx.sock")
    assert r.handler == "uwsgi" and r.endpoints[0].label == "unix:/run/app.sock"


def test_a_failing_backends_error_page_is_noted() -> None:
    cfg = config("phases")
    r = route(cfg, "http://p.test/named/x")
    assert r.handler == "proxy"
    note = next(s for s in r.steps if s.kind == "error_page")
    assert note.runtime and "@down" in note.text


def test_merge_slashes_off_keeps_the_double_slash() -> None:
    text = ("events {}\nhttp { server { listen 80; merge_slashes off;\n"
            "location /api/ { proxy_pass http://127.0.0.1:1; }\n"
            "location / { proxy_pass http://127.0.0.1:2; } } }\n")
    cfg = read_config(f"# configuration file /etc/nginx/nginx.conf:\n{text}", "test")
    assert route(cfg, "http://x//api/a").endpoints[0].port == 2
    assert route(cfg, "http://x/api/a").endpoints[0].port == 1


def test_an_ip_in_the_url_is_where_the_client_connects() -> None:
    cfg = config("listen")
    assert route(cfg, "http://127.0.0.2:8081/x").endpoints[0].port == 9005
    assert route(cfg, "http://127.0.0.1:8081/x").endpoints[0].port == 9006
