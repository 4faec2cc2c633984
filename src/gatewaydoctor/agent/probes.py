"""HTTP and TCP probes made from the host itself, each with a short timeout.

The HTTP probe is http.client's: one GET with `Connection: close` over TCP, TLS (not
verified: the probe asks what answers, not whether its certificate is good) or a unix
socket, reading the status, the headers and the head of the body, nothing more. No
http_proxy/https_proxy setting is honoured.
"""

from __future__ import annotations

import http.client
import socket
import time
from typing import Any
from urllib.parse import urlsplit

from ..formats.endpoint import split_hostport
from .runner import Item, new_item

PROBE_TIMEOUT = 2.0
BODY_HEAD = 512
HEALTH_PATHS = ("/health", "/api/health", "/docs", "/openapi.json")


def _error_text(exc: BaseException) -> tuple[str, int | None]:
    if isinstance(exc, socket.timeout):
        return "timed out", None
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"[Errno {exc.errno}] {exc.strerror}", exc.errno
    if type(exc) is http.client.BadStatusLine:  # (RemoteDisconnected is one too)
        line = str(exc).rstrip("\r\n")[:200]
        return f"BadStatusLine: {line!r}", None
    return f"{type(exc).__name__}: {exc}", None


def _host(host: str) -> str | bytes:
    """The host as getaddrinfo takes it: bytes when ASCII, sparing the idna codec (~10 ms of
    imports) for the addresses and plain names probes use."""
    try:
        return host.encode("ascii")
    except UnicodeEncodeError:
        return host


class _Connection(http.client.HTTPConnection):
    """An HTTPConnection to `host:port` or `unix:/path`, in TLS (unverified) when asked."""

    def __init__(self, endpoint: str, tls: bool, sni: str | None, timeout: float) -> None:
        self._unix_path = endpoint[5:] if endpoint.startswith("unix:") else None
        host, port = ("localhost", 80) if self._unix_path is not None else \
            split_hostport(endpoint, 443 if tls else 80)
        super().__init__(host, port, timeout=timeout)
        self._tls, self._sni = tls, sni

    def connect(self) -> None:
        """Open the socket (unix or TCP), then TLS over it when asked."""
        if self._unix_path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(self.timeout)
            self.sock.connect(self._unix_path)
        else:
            self.sock = socket.create_connection(
                (_host(self.host), self.port),  # type: ignore[arg-type]
                self.timeout)  # (bytes hosts are fine at run time)
        if self._tls and self._unix_path is None:
            import ssl  # here: a Python built without ssl still probes plain HTTP

            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self.sock = ctx.wrap_socket(self.sock, server_hostname=self._sni)


def _get(conn: _Connection, path: str, host: str) -> tuple[int, str, str | None, str | None,
                                                             bytes]:
    """(status, reason, Server, Content-Type, the first BODY_HEAD bytes of the body)."""
    conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
    for name, value in (("Host", host), ("User-Agent", "gatewaydoctor-probe"),
                        ("Accept", "*/*"), ("Connection", "close")):
        conn.putheader(name, value)
    conn.endheaders()
    resp = conn.getresponse()
    try:
        try:
            body = resp.read(BODY_HEAD)
        except http.client.IncompleteRead as exc:  # a chunked body cut short: what came
            body = exc.partial
        # msg.get: the first of repeated headers, as recorded before (getheader joins them)
        return resp.status, resp.reason, resp.msg.get("server"), \
            resp.msg.get("content-type"), body
    finally:
        resp.close()


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
    host = host_header
    if host is None:
        # As http.client writes it: the port only when it is not the scheme's own.
        host = "localhost" if endpoint.startswith("unix:") else endpoint.removesuffix(
            ":443" if tls else ":80")
    sni = (host_header or split_hostport(endpoint)[0]).rsplit(":", 1)[0].strip("[]") \
        if tls else None
    conn = None
    try:
        conn = _Connection(endpoint, tls, sni or None, timeout)
        status, reason, server, content_type, body = _get(conn, path, host)
        data.update(status=status, reason=reason, server=server, content_type=content_type,
                    body_head=body.decode("utf-8", errors="replace"))
    except (OSError, http.client.HTTPException, ValueError) as exc:
        data["error"], data["errno"] = _error_text(exc)
    finally:
        if conn is not None:
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
