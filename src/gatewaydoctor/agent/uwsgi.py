"""uWSGI behind nginx's `uwsgi_pass`: which endpoints nginx hands requests to in the uwsgi
protocol, a real uwsgi-protocol request to each (never HTTP: a uwsgi socket does not speak
it), and the uWSGI configuration files and log files its command line names.

The request is the packet nginx sends (ngx_http_uwsgi_module: a 4-byte header, modifier1 0
for Python WSGI, then the CGI-style variables as `u16 length, bytes` pairs); uWSGI answers
with the application's raw HTTP response, read here with http.client's parser.
"""

import http.client
import os
import socket
import struct
import time
from typing import Any, Dict, List, Optional, Tuple

from ..formats import sources
from ..formats.endpoint import split_hostport
from ..formats.execspec import uwsgi_config_files, uwsgi_ini_args
from ..formats.nginx import children, proxy_endpoints, split_dump, tree
from .runner import Item, new_item, read_file, read_tail

PROBE_TIMEOUT = 2.0
BODY_HEAD = 512
PATHS_PER_ENDPOINT = 3
# uWSGI options that name where it logs (core/uwsgi.c): `logto` / `logto2` a file,
# `daemonize` a file it logs to once detached, `req-logger`/`logger` as `file:PATH`.
_LOG_OPTIONS = ("--logto", "--logto2", "--daemonize", "--daemonize2")
_LOGGER_OPTIONS = ("--logger", "--req-logger")
_CONFIGS = (".ini", ".xml", ".yaml", ".yml", ".json")


def pass_endpoint(target: str, upstreams: Dict[str, List[str]]) -> List[str]:
    """The endpoints of a `uwsgi_pass [uwsgi://|suwsgi://]ADDRESS` (an upstream expanded)."""
    rest = target.split("://", 1)[1] if "://" in target else target
    return proxy_endpoints("http://" + rest, upstreams)


def passes(dump: str) -> Dict[str, List[str]]:
    """Each endpoint a `uwsgi_pass` names, with the literal location paths that pass there
    (uwsgi_pass sends the request URI unchanged)."""
    files = split_dump(dump) or [("", dump)]
    trees = {path: tree(content) for path, content in files}
    main = files[0][0]
    upstreams: Dict[str, List[str]] = {}
    found: Dict[str, List[str]] = {}

    def visit(file: str, block: List[Dict[str, Any]], location: str) -> None:
        for f, d in children(trees, file, block, main, frozenset({main})):
            name, inner, args = d["directive"], d.get("block"), d["args"]
            if name == "upstream" and args and inner is not None:
                upstreams[args[0]] = [c["args"][0] for _f, c in children(trees, f, inner, main)
                                      if c["directive"] == "server" and c["args"]]
            elif name == "uwsgi_pass" and args:
                found.setdefault(args[0], []).append(location)
            elif inner is not None:
                visit(f, inner, _literal(args) if name == "location" else location)

    visit(main, trees[main], "/")
    out: Dict[str, List[str]] = {}
    for target, paths in found.items():
        for ep in pass_endpoint(target, upstreams):
            out.setdefault(ep, [])
            out[ep] = list(dict.fromkeys(out[ep] + [p for p in paths if p]))
    return out


def _literal(args: List[str]) -> str:
    """The path a location matches literally (`= /x`, `^~ /x/`, `/x`), or "" (regex, named)."""
    if len(args) == 2 and args[0] in ("=", "^~"):
        return args[1]
    if len(args) == 1 and args[0].startswith("/"):
        return args[0]
    return ""


def packet(path: str, host: str, server: Tuple[str, int]) -> bytes:
    """A uwsgi-protocol GET as nginx's `include uwsgi_params; uwsgi_pass` sends it."""
    uri, _, query = path.partition("?")
    env = (("REQUEST_METHOD", "GET"), ("REQUEST_URI", path), ("PATH_INFO", uri),
           ("QUERY_STRING", query), ("SERVER_PROTOCOL", "HTTP/1.1"),
           ("REQUEST_SCHEME", "http"), ("SERVER_NAME", server[0]),
           ("SERVER_PORT", str(server[1])), ("REMOTE_ADDR", "127.0.0.1"),
           ("REMOTE_PORT", "0"), ("CONTENT_TYPE", ""), ("CONTENT_LENGTH", ""),
           ("HTTP_HOST", host), ("HTTP_USER_AGENT", "gatewaydoctor-probe"),
           ("HTTP_ACCEPT", "*/*"), ("HTTP_CONNECTION", "close"))
    body = b"".join(struct.pack("<H", len(k.encode())) + k.encode() +
                    struct.pack("<H", len(v.encode())) + v.encode() for k, v in env)
    return struct.pack("<BHB", 0, len(body), 0) + body


def _connect(endpoint: str, timeout: float) -> socket.socket:
    if endpoint.startswith("unix:"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(endpoint[5:])
        except OSError:
            sock.close()
            raise
        return sock
    host, port = split_hostport(endpoint)
    return socket.create_connection((host, port), timeout=timeout)


def probe(source: str, endpoint: str, path: str, *, timeout: float = PROBE_TIMEOUT) -> Item:
    """One uwsgi-protocol GET of path at endpoint: status, headers and body head, as the
    HTTP probe records them (`probe: uwsgi`)."""
    data: Dict[str, Any] = {
        "probe": "uwsgi", "via": sources.VIA_UPSTREAM, "endpoint": endpoint, "path": path,
        "host_header": None, "tls": False, "status": None, "reason": None, "server": None,
        "content_type": None, "body_head": None, "elapsed": None, "error": None,
        "errno": None,
    }
    item = new_item(source, "probe", data=data)
    start = time.monotonic()
    server = ("localhost", 80) if endpoint.startswith("unix:") else split_hostport(endpoint)
    sock = None
    try:
        sock = _connect(endpoint, timeout)
        sock.sendall(packet(path, "localhost", server))
        resp = http.client.HTTPResponse(sock, method="GET")
        resp.begin()
        try:
            body = resp.read(BODY_HEAD)
        except http.client.IncompleteRead as exc:
            body = exc.partial
        data.update(status=resp.status, reason=resp.reason, server=resp.msg.get("server"),
                    content_type=resp.msg.get("content-type"),
                    body_head=body.decode("utf-8", errors="replace"))
    except OSError as exc:  # socket.timeout is one (an alias of TimeoutError from 3.10)
        if isinstance(exc, socket.timeout) or exc.errno is None:
            data["error"] = "timed out" if isinstance(exc, socket.timeout) else str(exc)
        else:
            data["error"], data["errno"] = f"[Errno {exc.errno}] {exc.strerror}", exc.errno
    except (http.client.HTTPException, ValueError) as exc:
        # uWSGI closes without a word when the request is not one it can serve.
        data["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    finally:
        if sock is not None:
            sock.close()
    data["elapsed"] = round(time.monotonic() - start, 4)
    item["duration"] = data["elapsed"]
    if data["error"]:
        item.update(error=data["error"], error_kind="probe")
    return item


def config_files(argv: List[str], cwd: Optional[str] = None) -> List[str]:
    """The absolute paths of the configuration files a uwsgi command line loads (a
    `FILE:section` suffix dropped)."""
    out = []
    for path in uwsgi_config_files(argv):
        base, _, section = path.rpartition(":")
        if base.endswith(_CONFIGS) and "/" not in section:
            path = base
        if not path.startswith("/") and cwd:
            path = os.path.join(cwd, path)
        if path.startswith("/"):
            out.append(os.path.normpath(path))
    return list(dict.fromkeys(out))


def read_config(path: str) -> Item:
    """One uWSGI configuration file, whole (it is short, and says where the app logs)."""
    return read_file(sources.uwsgi_config(path), path, max_bytes=256 << 10)


def log_paths(argv: List[str], configs: List[str]) -> List[str]:
    """The files uWSGI logs to, from its command line and the configuration texts."""
    args: List[str] = []
    for arg in [*argv, *(a for text in configs for a in uwsgi_ini_args(text))]:
        args += arg.split("=", 1) if arg.startswith("--") and "=" in arg else [arg]
    out = []
    for i, arg in enumerate(args[:-1]):
        value = args[i + 1]
        if arg in _LOG_OPTIONS:
            out.append(value)
        elif arg in _LOGGER_OPTIONS and value.startswith("file:"):
            out.append(value[5:].split(",", 1)[0])
    return list(dict.fromkeys(p for p in out if p.startswith("/")))


def read_log(path: str, unit: str, max_bytes: int, max_lines: int) -> Item:
    """The tail of one uWSGI log file, and the service that writes it."""
    item = read_tail(sources.uwsgi_log(path), path, max_bytes=max_bytes, max_lines=max_lines)
    item["data"] = {"unit": unit}
    return item
