"""HTTP and TCP probes made from the host itself, each with a short timeout.

The HTTP probe is http.client's: one GET with `Connection: close` over TCP, TLS (not
verified: the probe asks what answers, not whether its certificate is good) or a unix
socket, reading the status, the headers and the head of the body, nothing more. No
http_proxy/https_proxy setting is honoured.
"""

import http.client
import socket
import threading
import time
from typing import Any, Dict, List, Optional, Tuple, Union
from urllib.parse import urlsplit

from ..formats.endpoint import join_hostport, split_hostport
from ..formats.nginx import proxy_endpoints
from ..formats.vhost import match_name, plain_location, proxied_path, url_request
from .runner import Item, new_item

PROBE_TIMEOUT = 2.0
BODY_HEAD = 512
# The seed guides' paths: probed only where the configuration names no path of its own.
HEALTH_PATHS = ("/health", "/api/health", "/docs", "/openapi.json")
PATHS_PER_SERVER = 4
PATHS_PER_UPSTREAM = 3
URL_LISTENS = 4  # listen addresses the URL is requested at, per server block
RESOLVE_TIMEOUT = 5.0


def _error_text(exc: BaseException) -> Tuple[str, Optional[int]]:
    if isinstance(exc, socket.timeout):
        return "timed out", None
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"[Errno {exc.errno}] {exc.strerror}", exc.errno
    if type(exc) is http.client.BadStatusLine:  # (RemoteDisconnected is one too)
        line = str(exc).rstrip("\r\n")[:200]
        return f"BadStatusLine: {line!r}", None
    return f"{type(exc).__name__}: {exc}", None


def _host(host: str) -> Union[str, bytes]:
    """The host as getaddrinfo takes it: bytes when ASCII, sparing the idna codec (~10 ms of
    imports) for the addresses and plain names probes use."""
    try:
        return host.encode("ascii")
    except UnicodeEncodeError:
        return host


class _Connection(http.client.HTTPConnection):
    """An HTTPConnection to `host:port` or `unix:/path`, in TLS (unverified) when asked."""

    def __init__(self, endpoint: str, tls: bool, sni: Optional[str], timeout: float) -> None:
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


def _get(conn: _Connection, path: str,
         host: str) -> Tuple[int, str, Optional[str], Optional[str], bytes]:
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
    host_header: Optional[str] = None,
    tls: bool = False,
    via: str = "direct",
    timeout: float = PROBE_TIMEOUT,
) -> Item:
    """GET path from endpoint (`host:port` or `unix:/p`); record status, headers, body head."""
    data: Dict[str, Any] = {
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
        default = ":443" if tls else ":80"
        host = "localhost" if endpoint.startswith("unix:") else (
            endpoint[:-len(default)] if endpoint.endswith(default) else endpoint)
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
    data: Dict[str, Any] = {"probe": "connect", "endpoint": endpoint, "connected": False,
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


def url_endpoint(url: str) -> Tuple[str, str, bool, str]:
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


# --- what to probe: the configuration's own paths, the URL's server block


def listen_endpoint(listen: str) -> Optional[Tuple[str, bool]]:
    """(endpoint to connect to, tls) of a `listen` as written: a wildcard is reached on
    loopback."""
    words = listen.split()
    if not words:
        return None
    addr, tls = words[0], "ssl" in words[1:] or "quic" in words[1:]
    if addr.startswith("unix:"):
        return addr, tls
    if addr.isdigit():
        return f"127.0.0.1:{addr}", tls
    host, port = split_hostport(addr)
    if host in ("*", "0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return join_hostport(host, port), tls


def _port_of(listen: str) -> Optional[int]:
    found = listen_endpoint(listen)
    if found is None or found[0].startswith("unix:"):
        return None
    return split_hostport(found[0])[1]


def _listens(server: Dict[str, Any]) -> List[str]:
    """A server's listens; none written is `listen *:80`."""
    return list(server["listen"]) or ["80"]


def _plain(server: Dict[str, Any]) -> List[Tuple[str, str, Optional[str]]]:
    """(modifier, path, proxy_pass) of the server's locations matched by a literal path."""
    out = []
    for loc in server["locations"]:
        found = plain_location(loc["path"].split()) if loc["path"] else ("", "/")
        if found is not None:
            out.append((found[0], found[1], loc["proxy_pass"]))
    return out


def server_paths(server: Dict[str, Any], limit: int = PATHS_PER_SERVER) -> List[str]:
    """The paths worth requesting of one server block, most telling first: exact
    locations, then the locations that proxy, the root, the other prefixes; the seed
    paths only when the block names no literal path at all."""
    plain = _plain(server)
    exact = [p for m, p, t in plain if m == "=" and t]
    exact += [p for m, p, t in plain if m == "=" and not t]
    proxying = [p for m, p, t in plain if m != "=" and t]
    others = [p for m, p, t in plain if m != "=" and not t]
    paths = [*exact, *proxying, "/", *others]
    if not plain and any(loc["path"] for loc in server["locations"]):
        paths += HEALTH_PATHS  # only regex or named locations: the configuration names none
    return list(dict.fromkeys(paths))[:limit]


def upstream_paths(servers: List[Dict[str, Any]], upstreams: Dict[str, List[str]],
                   limit: int = PATHS_PER_UPSTREAM) -> Dict[str, List[str]]:
    """Each proxy_pass endpoint, with the paths nginx would send it for the locations that
    proxy there (the target's URI part applied), exact locations first; the seed paths
    where no such location names a literal path."""
    ranked: Dict[str, List[Tuple[int, str]]] = {}
    for server in servers:
        for loc in server["locations"]:
            target = loc["proxy_pass"]
            if not target:
                continue
            found = plain_location(loc["path"].split()) if loc["path"] else ("", "/")
            sent = proxied_path(target, found[1], found[0], found[1]) if found else None
            for ep in proxy_endpoints(target, upstreams):
                got = ranked.setdefault(ep, [])
                if sent is not None:
                    got.append((0 if found and found[0] == "=" else 1, sent))
    out: Dict[str, List[str]] = {}
    for ep, got in ranked.items():
        paths = [p for _rank, p in sorted(got, key=lambda x: x[0])]
        out[ep] = list(dict.fromkeys(paths or HEALTH_PATHS))[:limit]
    return out


def _url_server(servers: List[Dict[str, Any]], name: str, port: int
                ) -> Optional[Dict[str, Any]]:
    """The server block whose server_name nginx picks for the name (on the URL's port if
    one listens there, else on any: a load balancer or CDN may forward to another port),
    else the default server of the URL's port."""
    on_port = [s for s in servers if any(_port_of(li) == port for li in _listens(s))]
    for pool in (on_port, servers):
        found = match_name([s["server_name"] for s in pool], name)
        if found is not None:
            return pool[found[0]]
    if not on_port:
        return None
    return next((s for s in on_port for li in _listens(s) if _port_of(li) == port and
                 ("default_server" in li.split() or "default" in li.split())), on_port[0])


def url_targets(servers: List[Dict[str, Any]], url: str
                ) -> Optional[Tuple[str, str, List[Tuple[str, bool]]]]:
    """(Host header, path, [(endpoint, tls)]): where this host's nginx serves the URL's
    name: the listens of its server block on the URL's port (all of them if none is on
    it), reached on loopback where they are wildcards."""
    try:
        host_header, name, port, path, _tls = url_request(url)
    except ValueError:
        return None
    chosen = _url_server(servers, name, port)
    if chosen is None:
        return None
    listens = [li for li in _listens(chosen) if _port_of(li) == port] or _listens(chosen)
    targets = [t for t in map(listen_endpoint, listens) if t is not None]
    return host_header, path, list(dict.fromkeys(targets))[:URL_LISTENS]


def url_upstream_paths(servers: List[Dict[str, Any]], upstreams: Dict[str, List[str]],
                       url: str) -> Dict[str, str]:
    """Each endpoint the URL's location proxies to, with the path nginx sends it there.
    The location is the exact one, else the longest literal prefix, of the URL's server
    block (regex locations are not followed: where one would win, this asks the app a
    path nginx would not; the request through nginx says what nginx does)."""
    try:
        _host, name, port, path, _tls = url_request(url)
    except ValueError:
        return {}
    chosen = _url_server(servers, name, port)
    if chosen is None:
        return {}
    uri = path.partition("?")[0]
    plain = _plain(chosen)
    exact = [(m, p, t) for m, p, t in plain if m == "=" and p == uri]
    prefix = sorted(((m, p, t) for m, p, t in plain if m != "=" and uri.startswith(p)),
                    key=lambda x: len(x[1]), reverse=True)
    found = (exact or prefix)[:1]
    if not found or not found[0][2]:
        return {}
    modifier, location, target = found[0]
    sent = proxied_path(str(target), location, modifier, path)
    return {} if sent is None else {ep: sent for ep in proxy_endpoints(str(target), upstreams)}


# --- how the URL's name resolves from here


def _is_local(address: str) -> bool:
    """Whether address is one of this host's own (the kernel lets a socket bind only to
    those)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind((address, 0))
        return True
    except OSError:
        return False


def _getaddrinfo(host: str, port: int, timeout: float) -> List[Any]:
    """getaddrinfo, given up after timeout (the resolver's own retries can take far longer;
    the lookup then finishes unseen in its daemon thread)."""
    box: Dict[str, Any] = {}

    def work() -> None:
        try:
            box["infos"] = socket.getaddrinfo(_host(host), port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            box["error"] = exc

    thread = threading.Thread(target=work, name="gatewaydoctor-resolve", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise socket.timeout("timed out")  # noqa: UP041 (TimeoutError only from 3.10)
    if "error" in box:
        raise box["error"]
    return list(box["infos"])


def resolve(source: str, host: str, port: int, timeout: float = RESOLVE_TIMEOUT) -> Item:
    """Resolve the URL's host as a client here would (getaddrinfo: /etc/hosts, then DNS);
    record each address and whether it is this host's own, or the resolver's error."""
    data: Dict[str, Any] = {"probe": "resolve", "host": host, "port": port, "addresses": [],
                            "error": None, "errno": None, "elapsed": None}
    item = new_item(source, "probe", data=data)
    start = time.monotonic()
    try:
        infos = _getaddrinfo(host, port, timeout)
        addrs = list(dict.fromkeys(str(info[4][0]) for info in infos))
        data["addresses"] = [{"address": a, "local": _is_local(a)} for a in addrs]
    except (OSError, UnicodeError) as exc:
        data["error"], data["errno"] = _error_text(exc)
    data["elapsed"] = round(time.monotonic() - start, 4)
    item["duration"] = data["elapsed"]
    return item
