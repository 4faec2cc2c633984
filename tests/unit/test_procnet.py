"""Listeners, processes and probes against a real local HTTP server."""

from __future__ import annotations

import socket
import subprocess

from conftest import free_port

from gatewaydoctor.agent import probes, procfs, sockdiag
from gatewaydoctor.agent.gather import _tcp_listeners
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


def test_sock_diag_lists_what_proc_net_tcp_lists(
        http_server: tuple[int, subprocess.Popen[bytes]]) -> None:
    """The kernel's netlink answer and its /proc tables agree, socket for socket."""
    port, proc = http_server
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as v6:
        v6.bind(("::1", 0))
        v6.listen()
        v6_port = v6.getsockname()[1]
        diag = Item.from_dict(sockdiag.tcp_listeners())
        tables = [(Item.from_dict(read_file(f"proc.net.{t}", f"/proc/net/{t}")), t)
                  for t in ("tcp", "tcp6")]
    assert diag.ok and diag.kind == "listing" and diag.path == sockdiag.TABLE
    from_diag = {(proto, ep, inode) for proto, ep, inode, _w in net.diag_listeners(diag)}
    from_proc = {(proto, ep, inode) for item, t in tables
                 for proto, ep, inode, _w in net.tcp_listeners(item, t)}
    assert from_diag == from_proc
    assert ("tcp6", Endpoint("::1", v6_port)) in {(p, ep) for p, ep, _i in from_diag}
    procs = net.processes(Item.from_dict(procfs.processes()))
    found = [li for li in net.listeners(net.diag_listeners(diag), procs)
             if li.endpoint.port == port]
    assert [(li.pids, li.table) for li in found] == [((proc.pid,), sockdiag.TABLE)]


def test_without_netlink_the_proc_tables_are_read(monkeypatch: object) -> None:
    def refused(family: int) -> list[sockdiag.Socket]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(sockdiag, "_dump", refused)  # type: ignore[attr-defined]
    items = _tcp_listeners()
    assert [i["source"] for i in items] == ["net.tcp_listen", "proc.net.tcp", "proc.net.tcp6"]
    assert items[0]["error"] == "cannot ask the kernel for listening sockets: Permission denied"
    assert items[1]["stdout"].startswith("  sl")


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
