"""gatewaydoctor's router against real nginx, on the public corpus and on our own configurations.

nginx (Debian's 1.22, echo module) runs each configuration in a private network namespace,
rewritten so that it names the server block, location and handler it picked (see
nginx_corpus.py); the same URLs are routed by gatewaydoctor on the original files, and the
two are compared step by step. The agreement is printed; the floor only ever goes up.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from nginx_corpus import (
    Ask,
    Entry,
    corpus_dir,
    corpus_entries,
    iter_jobs,
    make_cert,
    own_entries,
    run_all,
    unavailable,
)

from gatewaydoctor.facts import Location, NginxConfig, ServerBlock, route
from gatewaydoctor.parse.nginx_config import read_config

IN_CI = __import__("os").environ.get("CI", "").lower() in ("1", "true", "yes")
OWN = ROOT / "tests" / "data" / "nginx-routing"
PASSES = ("proxy", "uwsgi", "grpc", "fastcgi", "scgi", "memcached")
# Agreement floors (percent of URLs where server, location and handler all agree): raise
# them as the router improves, never lower them.
CORPUS_FLOOR = 98.0
OWN_FLOOR = 100.0


def _literal(loc: Location) -> str | None:
    """A path this location matches, for asking nginx."""
    if loc.path.startswith("@"):
        return None
    if loc.modifier in ("", "^~"):
        return loc.path + "gd" if loc.path.endswith("/") else loc.path
    if loc.modifier == "=":
        return loc.path
    if loc.modifier in ("~", "~*"):
        m = re.fullmatch(r"\^?((?:/[\w-]+)+/?)(?:\$|\(|\.\*|/?\.\*|)?", loc.path)
        if m:
            return m.group(1)
        m = re.fullmatch(r"\\\.\(?([a-z0-9|]+)\)?\$", loc.path)
        if m:
            return "/gd." + m.group(1).split("|")[0]
    return None


def _passes(loc: Location) -> bool:
    """The location hands the request to a backend (any *_pass)."""
    return any(d.name.endswith("_pass") and d.name != "fastcgi_pass" or d.name == "fastcgi_pass"
               for d in loc.directives if d.name in (
                   "proxy_pass", "uwsgi_pass", "grpc_pass", "fastcgi_pass", "scgi_pass"))


def _tls(server: ServerBlock, li: Any) -> bool:
    """The listen speaks TLS: `ssl` on it, or the old `ssl on;` in its server."""
    return bool(li.ssl) or any(d.name == "ssl" and d.args[:1] == ("on",)
                               for d in server.directives)


def _addr(config: NginxConfig, server: ServerBlock | None, port: int) -> str:
    """The address a client connects to for this port: the server's own, else loopback."""
    listens = [li for s in config.servers for li in s.listens if li.endpoint.port == port]
    if server is not None:
        own = [li.endpoint.host for li in server.listens if li.endpoint.port == port]
        for h in own:
            if h and h not in ("*", "0.0.0.0", "::") and re.fullmatch(r"[\d.]+|[0-9a-f:]+", h):
                return h
    if any(li.endpoint.host in ("*", "0.0.0.0") for li in listens) or not listens:
        return "127.0.0.1"
    if any(li.endpoint.host == "::" for li in listens):
        return "::1"
    return next((li.endpoint.host for li in listens
                 if li.endpoint.host and re.fullmatch(r"[\d.]+|[0-9a-f:]+", li.endpoint.host)),
                "127.0.0.1")


def _pct(path: str) -> str:
    """`/api/x` → `/a/../%61pi/x`: the same URI after nginx's normalisation."""
    i = next((n for n, c in enumerate(path) if c.isalpha()), None)
    if i is None:
        return "/gd/.." + path
    return "/gd/../" + path[1:i] + f"%{ord(path[i]):02X}" + path[i + 1:]


def choose_asks(config: NginxConfig) -> list[Ask]:
    """3–5 URLs for one configuration: its main proxied location by both schemes, an
    unknown Host, a trailing-dot Host with `//`, and `/../` with `%XX` in the path."""
    servers = list(config.servers)
    if not servers:
        return []

    def proxied(s: ServerBlock) -> Location | None:
        """The server's first location that passes to a backend and can be asked for."""
        return next((loc for loc in s.locations if _passes(loc)
                     and _literal(loc)), None)
    main = next((s for s in servers if proxied(s)), servers[0])
    loc = proxied(main) or next((lo for lo in main.locations if _literal(lo)), None)
    path = (_literal(loc) if loc else None) or "/"
    name = next((n for n in main.names if n and n != "_" and not n.startswith(("~", "*", "."))
                 and not n.endswith(".*") and "$" not in n), "localhost")
    tls = [li for li in main.listens if _tls(main, li) and li.endpoint.port]
    plain = [li for li in main.listens if not _tls(main, li) and li.endpoint.port]
    first = tls[0] if tls else (plain[0] if plain else None)
    scheme = "https" if tls else "http"
    port = first.endpoint.port if first and first.endpoint.port else 80
    addr = _addr(config, main, port)
    asks = [Ask(scheme, name, port, path, addr)]
    other_ports = sorted({li.endpoint.port for s in servers for li in s.listens
                          if _tls(s, li) != (scheme == "https") and li.endpoint.port})
    if other_ports:
        op = 443 if scheme == "http" and 443 in other_ports else (
            80 if 80 in other_ports else other_ports[0])
        osch = "http" if scheme == "https" else "https"
        osch = "https" if any(_tls(s, li) for s in servers for li in s.listens
                              if li.endpoint.port == op) else "http"
        asks.append(Ask(osch, name, op, path, _addr(config, main, op)))
    asks.append(Ask(scheme, "unknown.example", port, "/", addr))
    asks.append(Ask(scheme, name + ".", port, "/" + path, addr))
    asks.append(Ask(scheme, name, port, _pct(path), addr))
    # Then other locations, of every server: each pass, named fallback and regex once.
    seen = {path}
    for s in servers:
        sname = next((n for n in s.names if n and n != "_" and not n.startswith(("~", "*", "."))
                      and not n.endswith(".*") and "$" not in n), "localhost")
        lis = [li for li in _listens_of(s) if li.endpoint.port]
        if not lis:
            continue
        li = next((x for x in lis if _tls(s, x)), lis[0])
        sch = "https" if _tls(s, li) else "http"
        for loc in s.locations:
            p = _literal(loc)
            if p is None or not re.fullmatch(r"[\w/.~%-]+", p) or p in seen or len(asks) >= 9:
                continue
            seen.add(p)
            asks.append(Ask(sch, sname, li.endpoint.port or 80, p,
                            _addr(config, s, li.endpoint.port or 80)))
    return asks


def _listens_of(server: ServerBlock) -> list[Any]:
    """A server's listens, `listen 80` when it writes none."""
    from gatewaydoctor.facts import Endpoint, Listen

    return list(server.listens) or [Listen(Endpoint("*", 80), False, False, "*:80")]


def gd_answer(config: NginxConfig, ask: Ask) -> dict[str, str]:
    """gatewaydoctor's route for one request, in nginx's answer's terms."""
    r = route(config, (ask.scheme, ask.host, ask.port, ask.path), addr=ask.addr, files=())
    return {"server": f"{r.server.file}:{r.server.line}" if r.server else "",
            "location": r.location.where if r.location else "",
            "handler": r.handler_label, "status": str(r.status or ""),
            "redirect": r.redirect or "",
            # the backend: its endpoints, or the variable target nginx resolves per request
            "backend": ", ".join(e.label for e in r.endpoints) or (
                r.target if r.target and "$" in r.target else "")}


def compare(nginx: dict[str, Any], gd: dict[str, str]) -> str | None:
    """Why gatewaydoctor's answer differs from nginx's, or None when they agree."""
    if nginx.get("error"):
        return f"nginx: {nginx['error']}"
    if not nginx["server"]:
        return f"nginx logged no server (status {nginx['status']})"
    if nginx["server"] != gd["server"]:
        return f"server: nginx {nginx['server']}, gatewaydoctor {gd['server'] or 'none'}"
    if nginx["location"] != gd["location"]:
        return f"location: nginx {nginx['location'] or 'none'}, " \
               f"gatewaydoctor {gd['location'] or 'none'}"
    want = nginx["handler"]
    if want and want != gd["handler"]:
        return f"handler: nginx {want}, gatewaydoctor {gd['handler']}"
    if not want and gd["handler"].split(" ")[0] not in ("return", "static", "none"):
        return f"handler: nginx answered {nginx['status']} itself, gatewaydoctor " \
               f"{gd['handler']}"
    if not want and gd["status"] and gd["status"] != str(nginx["status"]):
        return f"status: nginx {nginx['status']}, gatewaydoctor {gd['status']}"
    if nginx["redirect"] and gd["redirect"] and not _same_place(nginx["redirect"],
                                                                  gd["redirect"]):
        return f"redirect: nginx {nginx['redirect']}, gatewaydoctor {gd['redirect']}"
    return None


def _same_place(nginx: str, gd: str) -> bool:
    """nginx makes a relative redirect absolute (`/x/` → `http://host/x/`)."""
    return nginx == gd or (gd.startswith("/") and nginx.endswith(gd.split("?")[0]))


def measure(entries: list[Entry], label: str
            ) -> tuple[int, int, list[str], int, int, list[str]]:
    """(agreeing, asked, misses, proxied by nginx, proxied ones whose backend gd names,
    configurations nginx refused).

    A configuration nginx 1.22 itself refuses (a missing `;`, a directive of a newer nginx)
    answers nothing to compare: it is listed, and routing its URLs must still not crash.
    """
    configs = {e.name: read_config(e.dump(), "corpus") for e in entries}
    asks = {e.name: e.asks if e.asks is not None else choose_asks(configs[e.name])
            for e in entries}
    with tempfile.TemporaryDirectory(prefix="gd-nginx-corpus-") as tmp:
        work = Path(tmp)
        cert, key = make_cert(work)
        jobs = list(iter_jobs(entries, asks, work, cert, key))
        results = run_all(jobs, work)
    good = total = proxied = named = 0
    steps = {"server": 0, "location": 0, "handler": 0}
    misses: list[str] = []
    refused: list[str] = []
    for e in entries:
        res = results[e.name]
        if "error" in res:
            refused.append(f"{e.name}: {res['error'].splitlines()[0][:200]}")
            for ask in asks[e.name]:
                gd_answer(configs[e.name], ask)  # must not raise
            continue
        assert len(res["answers"]) == len(asks[e.name]), e.name
        for ask, ans in zip(asks[e.name], res["answers"]):
            total += 1
            try:
                gd = gd_answer(configs[e.name], ask)
            except Exception as exc:  # noqa: BLE001 - a crash is a miss, reported
                gd = {"server": f"crash {exc!r}", "location": "", "handler": "", "status": "",
                      "redirect": "", "backend": ""}
            why = compare(ans, gd)
            if not ans.get("error"):
                for key in steps:
                    steps[key] += ans[key] == gd[key] or (key == "handler" and not ans[key])
            if ans.get("handler", "").split(" ")[0] in PASSES:
                proxied += 1
                named += ans["handler"] == gd["handler"] and bool(gd["backend"])
            if why is None:
                good += 1
            else:
                misses.append(f"{e.name} {ask.url} ({ask.addr}): {why}")
    print(f"\n{label}: {good}/{total} URLs agree with nginx "
          f"({100 * good / max(total, 1):.1f}%); backend named for {named}/{proxied} "
          "proxied requests")
    print("  by step: " + ", ".join(f"{k} {v}/{total}" for k, v in steps.items()))
    for m in misses:
        print("  miss:", m)
    for m in refused:
        print("  not compared (nginx refuses the configuration):", m)
    return good, total, misses, proxied, named, refused


def _skip_or_fail(reason: str) -> None:
    """Skip where nginx cannot run, but fail in CI (a missing harness is no pass)."""
    if IN_CI:
        pytest.fail(f"real nginx is needed in CI: {reason}")
    pytest.skip(reason)


def test_router_agrees_with_nginx_on_the_corpus(capsys: pytest.CaptureFixture[str]) -> None:
    reason = unavailable()
    corpus = corpus_dir()
    if reason is None and corpus is None:
        reason = "the shared nginx corpus (../shared/nginx-corpus) is not here"
    if reason:
        _skip_or_fail(reason)
    assert corpus is not None
    with capsys.disabled():  # the agreement shows in every run's output, CI's included
        good, total, _misses, proxied, named, refused = measure(corpus_entries(corpus),
                                                                "corpus")
    assert total >= 300
    assert len(refused) <= 6  # the six nginx 1.22 itself rejects (a missing `;`, …)
    assert good / total * 100 >= CORPUS_FLOOR
    assert named == proxied  # the backend of every request nginx proxies is named


def test_router_agrees_with_nginx_on_our_configurations(
        capsys: pytest.CaptureFixture[str]) -> None:
    reason = unavailable()
    if reason:
        _skip_or_fail(reason)
    with capsys.disabled():
        good, total, _misses, proxied, named, refused = measure(own_entries(OWN), "own")
    assert not refused
    assert total >= 50
    assert good / total * 100 >= OWN_FLOOR
    assert named == proxied
