"""HTTP and TCP probes made from the host itself, each with a short timeout.

http.client is used directly so no http_proxy/https_proxy setting is honoured. It (with
ssl and email) is imported on first use, in a worker thread while the slower probes run:
that keeps ~20 ms off the start of every command.
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .execspec import split_hostport
from .runner import Item, new_item

if TYPE_CHECKING:
    import http.client

PROBE_TIMEOUT = 2.0
BODY_HEAD = 512
HEALTH_PATHS = ("/health", "/api/health", "/docs", "/openapi.json")


def _unix_connection(path: str, timeout: float) -> http.client.HTTPConnection:
    """An HTTP connection over a unix socket (gunicorn --bind unix:...)."""
    import http.client

    class UnixHTTPConnection(http.client.HTTPConnection):
        def connect(self) -> None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            sock.connect(path)
            self.sock = sock

    return UnixHTTPConnection("localhost", timeout=timeout)


def _error_text(exc: BaseException) -> tuple[str, int | None]:
    if isinstance(exc, socket.timeout):
        return "timed out", None
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"[Errno {exc.errno}] {exc.strerror}", exc.errno
    return f"{type(exc).__name__}: {exc}", None


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
    import http.client
    import ssl

    item = new_item(source, "probe", data=data)
    start = time.monotonic()
    conn: http.client.HTTPConnection
    if endpoint.startswith("unix:"):
        conn = _unix_connection(endpoint[5:], timeout)
    else:
        host, port = split_hostport(endpoint, 443 if tls else 80)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        headers = {"User-Agent": "gatewaydoctor-probe", "Connection": "close"}
        if host_header:
            headers["Host"] = host_header
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read(BODY_HEAD)
        data.update(
            status=resp.status, reason=resp.reason, server=resp.getheader("Server"),
            content_type=resp.getheader("Content-Type"),
            body_head=body.decode("utf-8", errors="replace"),
        )
    except (OSError, http.client.HTTPException, ValueError) as exc:
        data["error"], data["errno"] = _error_text(exc)
    finally:
        conn.close()
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
            socket.create_connection((host, port), timeout=timeout).close()
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
