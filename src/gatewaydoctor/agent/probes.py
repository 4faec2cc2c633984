"""HTTP and TCP probes made from the host itself, each with a short timeout.

The HTTP probe speaks HTTP/1.1 over a plain socket (TCP, TLS or a unix socket): it sends
one GET with `Connection: close` and reads the status line, the headers and the head of
the body, nothing more. No http_proxy/https_proxy setting is honoured, and http.client
(with email, ~20 ms of imports and regex compiling) is not needed; ssl is imported only
for https.
"""

from __future__ import annotations

import socket
import time
from typing import Any
from urllib.parse import urlsplit

from ..formats.endpoint import split_hostport
from .runner import Item, new_item

PROBE_TIMEOUT = 2.0
BODY_HEAD = 512
MAX_HEAD = 64 * 1024
HEALTH_PATHS = ("/health", "/api/health", "/docs", "/openapi.json")


class ProbeError(Exception):
    """The peer answered something that is not HTTP (named as http.client names it)."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(f"{kind}: {text}")


def _error_text(exc: BaseException) -> tuple[str, int | None]:
    if isinstance(exc, socket.timeout):
        return "timed out", None
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"[Errno {exc.errno}] {exc.strerror}", exc.errno
    if isinstance(exc, ProbeError):
        return str(exc), None
    return f"{type(exc).__name__}: {exc}", None


def _host(host: str) -> str | bytes:
    """The host as getaddrinfo takes it: bytes when ASCII, sparing the idna codec (~5 ms of
    imports) for the addresses and plain names probes use."""
    try:
        return host.encode("ascii")
    except UnicodeEncodeError:
        return host


def _connect(endpoint: str, tls: bool, host_header: str | None,
             timeout: float) -> socket.socket:
    if endpoint.startswith("unix:"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(endpoint[5:])
        except BaseException:
            sock.close()
            raise
        return sock
    host, port = split_hostport(endpoint, 443 if tls else 80)
    sock = socket.create_connection((_host(host), port),  # type: ignore[arg-type]
                                    timeout=timeout)  # (bytes hosts are fine at run time)
    if not tls:
        return sock
    import ssl  # ~10 ms, and only https needs it

    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    name = (host_header or host).rsplit(":", 1)[0].strip("[]")
    try:
        return ctx.wrap_socket(sock, server_hostname=name or None)
    except BaseException:
        sock.close()
        raise


def _read_response(sock: socket.socket) -> tuple[int, str, dict[str, str], bytes]:
    """(status, reason, headers by lowercased name, the first BODY_HEAD bytes of the body)."""
    buf = b""
    while b"\r\n\r\n" not in buf and len(buf) < MAX_HEAD:
        chunk = sock.recv(16384)
        if not chunk:
            break
        buf += chunk
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not buf:
        raise ProbeError("RemoteDisconnected", "Remote end closed connection without response")
    lines = head.decode("iso-8859-1").split("\r\n")
    words = lines[0].split(None, 2)
    if not sep or len(words) < 2 or not words[0].startswith("HTTP/") or not words[1].isdigit():
        raise ProbeError("BadStatusLine", repr(lines[0][:200]))
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon and name.strip().lower() not in headers:
            headers[name.strip().lower()] = value.strip()
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    length = headers.get("content-length", "")
    want = min(BODY_HEAD, int(length)) if length.isdigit() else BODY_HEAD
    # A chunked body carries its size lines: read some more, then take the data out.
    while len(body) < (want + 64 if chunked else want):
        chunk = sock.recv(16384)
        if not chunk:
            break
        body += chunk
    return int(words[1]), words[2] if len(words) > 2 else "", headers, (
        _dechunk(body) if chunked else body)[:BODY_HEAD]


def _dechunk(body: bytes) -> bytes:
    """The data of a chunked body's first chunks (as much as was read)."""
    out = b""
    while body:
        size_line, sep, rest = body.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
        except ValueError:
            break
        if not sep or size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    return out


def http_probe(
    source: str,
    *,
    endpoint: str,
    path: str,
    host_header: str | None = None,
    tls: bool = False,
    via: str = "direct",
    timeout: float = PROBE_TIMEOUT,
) -> Item:
    """GET path from endpoint (`host:port` or `unix:/p`); record status, headers, body head."""
    data: dict[str, Any] = {
        "probe": "http", "via": via, "endpoint": endpoint, "path": path,
        "host_header": host_header, "tls": tls, "status": None, "reason": None,
        "server": None, "content_type": None, "body_head": None, "elapsed": None,
        "error": None, "errno": None,
    }
    item = new_item(source, "probe", data=data)
    start = time.monotonic()
    sock: socket.socket | None = None
    try:
        host = host_header
        if host is None:
            # As http.client writes it: the port only when it is not the scheme's own.
            host = "localhost" if endpoint.startswith("unix:") else endpoint.removesuffix(
                ":443" if tls else ":80")
        request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
                   "User-Agent: gatewaydoctor-probe\r\nAccept: */*\r\n"
                   "Connection: close\r\n\r\n").encode("ascii")
        sock = _connect(endpoint, tls, host_header, timeout)
        sock.sendall(request)
        status, reason, headers, body = _read_response(sock)
        data.update(
            status=status, reason=reason, server=headers.get("server"),
            content_type=headers.get("content-type"),
            body_head=body.decode("utf-8", errors="replace"),
        )
    except (OSError, ProbeError, ValueError) as exc:
        data["error"], data["errno"] = _error_text(exc)
    finally:
        if sock is not None:
            sock.close()
    data["elapsed"] = round(time.monotonic() - start, 4)
    item["duration"] = data["elapsed"]
    if data["error"]:
        item["error"] = data["error"]
        item["error_kind"] = "probe"
    return item


def tcp_probe(source: str, endpoint: str, *, timeout: float = PROBE_TIMEOUT) -> Item:
    """Open (and close) a plain TCP or unix-socket connection to endpoint."""
    data: dict[str, Any] = {"probe": "connect", "endpoint": endpoint, "connected": False,
                            "error": None, "errno": None, "elapsed": None}
    item = new_item(source, "probe", data=data)
    start = time.monotonic()
    try:
        if endpoint.startswith("unix:"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(endpoint[5:])
            finally:
                sock.close()
        else:
            host, port = split_hostport(endpoint)
            socket.create_connection((_host(host), port),  # type: ignore[arg-type]
                                     timeout=timeout).close()
        data["connected"] = True
    except OSError as exc:
        data["error"], data["errno"] = _error_text(exc)
        item.update(error=data["error"], error_kind="probe")
    data["elapsed"] = round(time.monotonic() - start, 4)
    item["duration"] = data["elapsed"]
    return item


def url_endpoint(url: str) -> tuple[str, str, bool, str]:
    """Split a URL into (endpoint, path, tls, host header); ValueError if it is not http(s)."""
    parts = urlsplit(url if "://" in url else "http://" + url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url}")
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    host = parts.hostname
    endpoint = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return endpoint, path, tls, parts.netloc
