"""Listeners, processes and probes against a real local HTTP server."""

from __future__ import annotations

import subprocess

from conftest import free_port

from gatewaydoctor.agent import probes, procfs
from gatewaydoctor.agent.runner import read_file
from gatewaydoctor.evidence import Item
from gatewaydoctor.facts import Endpoint
from gatewaydoctor.parse import net


def test_listener_maps_to_the_process(http_server: tuple[int, subprocess.Popen[bytes]]) -> None:
    port, proc = http_server
    raw = net.tcp_listeners(Item.from_dict(read_file("proc.net.tcp", "/proc/net/tcp")), "tcp")
    procs = net.processes(Item.from_dict(procfs.processes()))
    found = [li for li in net.listeners(raw, procs) if li.endpoint.port == port]
    assert found and found[0].endpoint == Endpoint("127.0.0.1", port)
    assert found[0].pids == (proc.pid,)
    me = next(p for p in procs if p.pid == proc.pid)
    assert "http.server" in me.cmdline


def test_http_probe_answers(http_server: tuple[int, subprocess.Popen[bytes]]) -> None:
    port, _ = http_server
    data = probes.http_probe("p", endpoint=f"127.0.0.1:{port}", path="/health")["data"]
    assert data["status"] == 200 and data["body_head"] == '{"status":"ok"}'
    assert data["server"].startswith("SimpleHTTP")


def test_probes_refused() -> None:
    port = free_port()
    item = probes.http_probe("p", endpoint=f"127.0.0.1:{port}", path="/health")
    assert item["data"]["errno"] == 111 and "Connection refused" in item["error"]
    assert probes.tcp_probe("c", f"127.0.0.1:{port}")["data"]["connected"] is False


def test_endpoint_accepts() -> None:
    target = Endpoint.parse("127.0.0.1:8000")
    assert Endpoint("0.0.0.0", 8000).accepts(target)
    assert Endpoint("::", 8000).accepts(target)
    assert not Endpoint("127.0.0.1", 8001).accepts(target)
    assert not Endpoint("::1", 8000).accepts(target)
    assert Endpoint("127.0.0.1", 8000).accepts(Endpoint.parse("localhost:8000"))
    assert Endpoint(path="/run/a.sock").accepts(Endpoint.parse("unix:/run/a.sock"))
