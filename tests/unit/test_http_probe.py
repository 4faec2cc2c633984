"""The HTTP probe (http.client) against real servers on real sockets.

Each server is the standard library's HTTP server (or a bare socket peer for the answers a
broken upstream gives), run in a thread: TCP, TLS with a certificate made by openssl, and a
unix socket, with plain, chunked and empty bodies.
"""

from __future__ import annotations

import http.server
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gatewaydoctor.agent import probes

BODY = b'{"status":"ok","service":"FastAPI Backend","database":"connected"}'


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        Handler.seen.append({k.lower(): v for k, v in self.headers.items()})
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (BODY[:10], BODY[10:], b"x" * 2000):
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/big":
            self.send_response(200)
            self.send_header("Content-Length", str(1 << 20))
            self.end_headers()
            self.wfile.write(b"y" * (1 << 20))
        elif self.path == "/empty":
            self.send_response(204)
            self.end_headers()
        else:
            self.send_response(503, "Service Unavailable")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

    def log_message(self, *args: object) -> None:
        pass


def _serve(server: socketserver.BaseServer) -> Iterator[socketserver.BaseServer]:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def tcp_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    for s in _serve(server):
        yield s.server_address[1]  # type: ignore[attr-defined]


@pytest.fixture()
def tls_server(tmp_path: Path) -> Iterator[int]:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    for s in _serve(server):
        yield s.server_address[1]  # type: ignore[attr-defined]


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class UnixHandler(Handler):
    def address_string(self) -> str:
        return "unix"


@pytest.fixture()
def unix_server(tmp_path: Path) -> Iterator[str]:
    path = str(tmp_path / "app.sock")
    for _s in _serve(UnixHTTPServer(path, UnixHandler)):
        yield path


def _peer(answer: Callable[[socket.socket], None]) -> Iterator[int]:
    """A bare TCP peer that reads the request and answers with `answer(conn)`."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def loop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)
                answer(conn)

    threading.Thread(target=loop, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def test_status_headers_and_body_over_tcp(tcp_server: int) -> None:
    Handler.seen.clear()
    item = probes.http_probe("p", endpoint=f"127.0.0.1:{tcp_server}", path="/health",
                             host_header="app.example.test")
    data = item["data"]
    assert (data["status"], data["reason"]) == (503, "Service Unavailable")
    assert data["content_type"] == "application/json" and data["server"].startswith("BaseHTTP")
    assert data["body_head"] == BODY.decode() and item["error"] is None
    assert Handler.seen[-1]["host"] == "app.example.test"
    assert Handler.seen[-1]["connection"] == "close"


def test_host_header_defaults_to_the_endpoint(tcp_server: int) -> None:
    Handler.seen.clear()
    probes.http_probe("p", endpoint=f"127.0.0.1:{tcp_server}", path="/health")
    assert Handler.seen[-1]["host"] == f"127.0.0.1:{tcp_server}"


def test_chunked_body_is_decoded_and_bounded(tcp_server: int) -> None:
    data = probes.http_probe("p", endpoint=f"127.0.0.1:{tcp_server}", path="/chunked")["data"]
    assert data["status"] == 200
    assert data["body_head"] == (BODY + b"x" * 2000)[:probes.BODY_HEAD].decode()


def test_a_large_body_is_not_read_whole(tcp_server: int) -> None:
    item = probes.http_probe("p", endpoint=f"127.0.0.1:{tcp_server}", path="/big")
    assert item["data"]["status"] == 200 and item["data"]["body_head"] == "y" * probes.BODY_HEAD
    assert item["duration"] < probes.PROBE_TIMEOUT


def test_empty_body(tcp_server: int) -> None:
    data = probes.http_probe("p", endpoint=f"127.0.0.1:{tcp_server}", path="/empty")["data"]
    assert (data["status"], data["body_head"], data["error"]) == (204, "", None)


def test_tls(tls_server: int) -> None:
    data = probes.http_probe("p", endpoint=f"127.0.0.1:{tls_server}", path="/health",
                             tls=True, host_header="localhost")["data"]
    assert data["status"] == 503 and data["body_head"] == BODY.decode()


def test_plain_http_to_a_tls_port_is_an_error_not_a_crash(tls_server: int) -> None:
    item = probes.http_probe("p", endpoint=f"127.0.0.1:{tls_server}", path="/health")
    assert item["error_kind"] == "probe" and item["data"]["status"] is None


def test_unix_socket(unix_server: str) -> None:
    data = probes.http_probe("p", endpoint=f"unix:{unix_server}", path="/health")["data"]
    assert data["status"] == 503 and data["body_head"] == BODY.decode()


def test_closed_without_answer_reads_like_http_client() -> None:
    for port in _peer(lambda conn: None):
        item = probes.http_probe("p", endpoint=f"127.0.0.1:{port}", path="/health")
        assert item["error"] == "RemoteDisconnected: Remote end closed connection without response"


def test_not_http_is_a_bad_status_line() -> None:
    for port in _peer(lambda conn: conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")):
        item = probes.http_probe("p", endpoint=f"127.0.0.1:{port}", path="/health")
        assert item["error"].startswith("BadStatusLine: 'SSH-2.0-OpenSSH_9.2'")


def test_first_of_repeated_headers_and_what_came_of_a_cut_chunked_body() -> None:
    answer = (b"HTTP/1.1 200 OK\r\nServer: first\r\nServer: second\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n40\r\npart")
    for port in _peer(lambda conn: conn.sendall(answer)):
        item = probes.http_probe("p", endpoint=f"127.0.0.1:{port}", path="/health")
        assert item["error"] is None and item["data"]["server"] == "first"
        assert item["data"]["body_head"] == "hello"  # the whole chunks (http.client's partial)


def test_a_hung_upstream_times_out() -> None:
    release = threading.Event()
    for port in _peer(lambda conn: release.wait(5)):
        item = probes.http_probe("p", endpoint=f"127.0.0.1:{port}", path="/health",
                                 timeout=0.3)
        release.set()
        assert item["error"] == "timed out" and item["duration"] < 2


def test_a_non_ascii_path_is_an_error() -> None:
    item = probes.http_probe("p", endpoint="127.0.0.1:9", path="/héalth")
    assert item["error_kind"] == "probe" and "ascii" in item["error"]
