"""The URL as the user meant it, end to end on a real nginx and a real backend.

nginx serves `shop.invalid` (a name no resolver knows) in front of a Python http.server, in
a private network, pid and mount namespace (`unshare`; /proc shows only that namespace's
processes, so the agent finds that nginx master and reads its configuration). The real
agent gathers, the real rules and diagnosis read it: the name not resolving is a note, the
verdict is what this host's nginx answered for the URL. Without a URL, the probes are the
configuration's own locations, not the seed guides' paths.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

NGINX = Path("/usr/sbin/nginx")
URL = "http://shop.invalid/x"
BACKEND_PORT = 9001
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable() -> str | None:
    """Why this test cannot run here, or None."""
    if os.geteuid() != 0:
        return "not root: cannot make a network namespace"
    if not NGINX.exists():
        return f"{NGINX} missing"
    for tool in ("unshare", "ip", "openssl", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} missing"
    probe = subprocess.run(["unshare", "--net", "--pid", "--fork", "--mount", "--mount-proc",
                            "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"unshare failed: {probe.stderr.strip()}"
    return None


def _config(work: Path) -> str:
    temps = "".join(f"    {kind}_temp_path {work}/{kind};\n"
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""worker_processes 1;
error_log {work}/error.log;
pid {work}/nginx.pid;
events {{ worker_connections 64; }}
http {{
{temps}    access_log {work}/access.log;
    proxy_connect_timeout 2s;
    upstream shop {{ server 127.0.0.1:{BACKEND_PORT}; }}
    server {{
        listen 80 default_server;
        server_name _;
        return 404;
    }}
    server {{
        listen 80;
        listen 443 ssl;
        server_name shop.invalid shop.example;
        ssl_certificate {work}/gd.crt;
        ssl_certificate_key {work}/gd.key;
        location = /sni {{ return 200 "sni=$ssl_server_name host=$host"; }}
        location = /healthz {{ proxy_pass http://shop/x; }}
        location /v1/ {{ proxy_pass http://shop/; }}
        location ~ \\.php$ {{ return 403; }}
        location / {{ proxy_pass http://shop; }}
    }}
    server {{
        listen 8080;
        server_name lb.invalid;
        location / {{ proxy_pass http://shop; }}
    }}
}}
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the three gatherings in one namespace (see _inside) and return what each said."""
    reason = _unavailable()
    if reason:
        if IN_CI:
            pytest.fail(f"real nginx in a namespace is needed in CI: {reason}")
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("shop")
    out = subprocess.run(
        ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc",
         sys.executable, __file__, str(work)],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")})
    assert out.returncode == 0, out.stderr[-4000:]
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_a_name_that_does_not_resolve_is_a_note_when_the_local_path_answers(
        runs: dict[str, Any]) -> None:
    got = runs["up"]
    report, items = got["report"], got["items"]
    lookup = items["net.resolve:shop.invalid"]["data"]
    assert lookup["addresses"] == [] and lookup["error"]  # the resolver's own words
    local = items["probe.http:nginx:shop.invalid@127.0.0.1:80/x"]["data"]
    assert local["status"] == 200 and local["host_header"] == "shop.invalid"
    assert "ok from the backend" in local["body_head"]
    assert report["verdict"] == "healthy", report["causes"]
    assert not report["causes"]
    assert any("shop.invalid" in n and "does not resolve" in n for n in report["notes"])
    assert any("无法解析 shop.invalid" in n and "HTTP 200" in n for n in got["notes_zh"])
    hops = report["chain"][0]["hops"]
    assert hops[0]["layer"] == "url" and hops[0]["name"] == "shop.invalid"
    assert "does not resolve" in hops[0]["detail"]
    assert hops[1]["status"] == "ok" and "HTTP 200" in hops[1]["detail"]
    assert "Host: shop.invalid" in hops[1]["name"]


def test_when_the_local_path_fails_too_the_local_evidence_leads(runs: dict[str, Any]) -> None:
    got = runs["down"]
    report, items = got["report"], got["items"]
    local = items["probe.http:nginx:shop.invalid@127.0.0.1:80/x"]["data"]
    assert local["status"] == 502
    assert report["verdict"] == "broken"
    first = report["causes"][0]
    # Nothing listens where nginx forwards: the local evidence, not the name, leads. The
    # backend here is a Python server started by hand (no systemd in the namespace) that
    # answered and was stopped: unmanaged-server-gone (service.not_running) names that,
    # above upstream-not-listening.
    assert first["category"] in ("service.not_running", "upstream.unreachable"), [
        c["category"] for c in report["causes"]]
    texts = " ".join(e["text"] for c in report["causes"] for e in c["evidence"])
    assert "Name or service not known" not in texts and "name resolution" not in texts
    probe = next(c for c in report["causes"] if c["category"] == "probe.failed")
    assert any("Host: shop.invalid" in e["source"] and "HTTP 502" in e["text"]
               for e in probe["evidence"])
    assert any("does not resolve" in n for n in report["notes"])


def test_a_name_that_resolves_to_another_machine_is_a_note(runs: dict[str, Any]) -> None:
    got = runs["elsewhere"]
    report, items = got["report"], got["items"]
    lookup = items["net.resolve:shop.example"]["data"]
    assert lookup["addresses"] == [{"address": "203.0.113.7", "local": False}]
    assert items["probe.http:url:http://shop.example/x"]["data"]["error"]  # unreachable here
    assert items["probe.http:nginx:shop.example@127.0.0.1:80/x"]["data"]["status"] == 200
    assert report["verdict"] == "healthy", report["causes"]
    assert any("resolves to 203.0.113.7" in n for n in report["notes"])


def test_https_is_asked_of_the_tls_listen_with_the_names_sni(runs: dict[str, Any]) -> None:
    items = runs["https"]["items"]
    local = items["probe.http:nginx:shop.invalid@127.0.0.1:443/sni"]["data"]
    assert local["tls"] and local["status"] == 200
    assert local["body_head"] == "sni=shop.invalid host=shop.invalid"
    assert runs["https"]["report"]["verdict"] == "healthy", runs["https"]["report"]["causes"]


def test_a_block_on_another_port_serves_the_name_behind_a_load_balancer(
        runs: dict[str, Any]) -> None:
    got = runs["lb"]
    local = got["items"]["probe.http:nginx:lb.invalid@127.0.0.1:8080/x"]["data"]
    assert local["status"] == 200 and not local["tls"]
    report = got["report"]
    assert report["verdict"] == "healthy", report["causes"]
    hops = report["chain"][0]["hops"]
    assert [h["layer"] for h in hops[:4]] == ["url", "url", "server", "location"]
    assert hops[2]["name"].startswith("server lb.invalid"), hops[2]


def test_without_a_url_the_configurations_own_locations_are_probed(
        runs: dict[str, Any]) -> None:
    keys = [k for k in runs["no_url"]["items"] if k.startswith("probe.http:")]
    nginx = sorted(k.split(":80", 1)[1] for k in keys if k.startswith("probe.http:nginx:shop"))
    # Exact locations first, then the proxying prefix, the root (four at most per block).
    assert nginx == ["/", "/healthz", "/sni", "/v1/"]
    upstream = sorted(k.rsplit(str(BACKEND_PORT), 1)[1] for k in keys
                      if k.startswith("probe.http:upstream:"))
    # proxy_pass http://shop/x for `= /healthz`, http://shop/ for /v1/, the path for /.
    assert upstream == ["/", "/x"]
    assert not any(k.endswith(("/health", "/api/health", "/docs", "/openapi.json"))
                   for k in keys)
    assert runs["no_url"]["report"]["verdict"] == "healthy", runs["no_url"]["report"]["causes"]


# --- inside the namespace


def _wait_port(port: int, up: bool = True) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            if up:
                return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} not {'up' if up else 'down'}")


def _diagnose(url: str | None) -> dict[str, Any]:
    from gatewaydoctor.agent.gather import gather
    from gatewaydoctor.diagnose import diagnose
    from gatewaydoctor.evidence import Evidence
    from gatewaydoctor.i18n import set_language
    from gatewaydoctor.parse import build_facts
    from gatewaydoctor.report.json import to_dict
    from gatewaydoctor.rules.registry import all_rules, run_rules

    raw = gather(url)
    facts = build_facts(Evidence.from_dict(raw))
    run = run_rules(facts, all_rules())
    set_language("zh-CN")
    notes_zh = list(diagnose(facts, run).notes)
    set_language("en")
    report = to_dict(diagnose(facts, run))
    items = {k: v for k, v in raw["items"].items() if k.startswith(("probe.", "net.resolve"))}
    return {"report": report, "items": items, "notes_zh": notes_zh}


def _inside(work: Path) -> None:
    """In the namespace: loopback up, the backend and nginx started, three gatherings."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    www = work / "www"
    www.mkdir()
    (www / "x").write_text("ok from the backend\n")
    (work / "nginx.conf").write_text(_config(work))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=shop.invalid", "-keyout", str(work / "gd.key"), "-out",
                    str(work / "gd.crt")], capture_output=True, check=True)
    # A name only this namespace's hosts file knows, for another machine (TEST-NET-3): the
    # mount namespace is private, the host's /etc/hosts is left as it is.
    (work / "hosts").write_text("127.0.0.1 localhost\n203.0.113.7 shop.example\n")
    subprocess.run(["mount", "--bind", str(work / "hosts"), "/etc/hosts"], check=True)
    backend = subprocess.Popen([sys.executable, "-m", "http.server", str(BACKEND_PORT),
                                "--bind", "127.0.0.1", "--directory", str(www)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run([str(NGINX), "-c", str(work / "nginx.conf"), "-e", str(work / "error.log")],
                   check=True, timeout=10)
    try:
        _wait_port(BACKEND_PORT)
        _wait_port(80)
        out = {"up": _diagnose(URL), "no_url": _diagnose(None),
               "https": _diagnose("https://shop.invalid/sni"),
               "elsewhere": _diagnose("http://shop.example/x"),
               "lb": _diagnose("https://lb.invalid/x")}
        backend.terminate()
        backend.wait(timeout=10)
        _wait_port(BACKEND_PORT, up=False)
        out["down"] = _diagnose(URL)
    finally:
        backend.kill()
        subprocess.run([str(NGINX), "-c", str(work / "nginx.conf"), "-e",
                        str(work / "error.log"), "-s", "stop"], check=False, timeout=10)
    print(json.dumps(out))


if __name__ == "__main__":
    _inside(Path(sys.argv[1]))
