"""Request routing as nginx does it: which server block a Host header and port reach, and
which location a path picks."""

from __future__ import annotations

import re

from .nginx import Location, NginxConfig, ServerBlock


def _host_port(host: str | None, port: int | None) -> tuple[str, int | None]:
    """Split a Host header (`example.com:8080`, `[::1]:80`) into name and port."""
    if not host:
        return "", port
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, int(rest[1:]) if rest[1:].isdigit() else port
    name, _, tail = host.partition(":")
    return name, int(tail) if tail.isdigit() else port


def pcre_to_python(pattern: str) -> str:
    """PCRE's named groups `(?<n>…)`/`(?'n'…)` are `(?P<n>…)` in Python."""
    return re.sub(r"\(\?(?:<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)')",
                  lambda m: f"(?P<{m.group(1) or m.group(2)}>", pattern)


def _name_matches(kind: str, server_name: str, name: str) -> bool:
    """One of nginx's server_name match kinds, in its order of precedence."""
    n = server_name.lower()
    if kind == "exact":
        return n == name
    if kind == "leading":
        return (n.startswith("*.") and name.endswith(n[1:])) or (
            n.startswith(".") and (name == n[1:] or name.endswith(n)))
    if kind == "trailing":
        return n.endswith(".*") and name.startswith(n[:-1])
    if not n.startswith("~"):
        return False
    try:
        return re.search(pcre_to_python(server_name[1:]), name) is not None
    except re.error:
        return False


def server_for(config: NginxConfig, host: str | None,
           port: int | None = None) -> ServerBlock | None:
    """The server block a request with this Host header (and port) reaches, like nginx:
    exact name, `*.suffix`, `prefix.*`, `~regex`, else the port's default server."""
    name, port = _host_port(host, port)
    candidates = [s for s in config.servers
                  if port is None or not s.listens
                  or any(li.endpoint.port == port for li in s.listens)] or list(config.servers)
    name = name.lower()
    for kind in ("exact", "leading", "trailing", "regex"):
        for s in candidates:
            if name and any(_name_matches(kind, n, name) for n in s.names):
                return s
    for s in candidates:
        if any(li.default_server for li in s.listens):
            return s
    return candidates[0] if candidates else None

def location_for(config: NginxConfig, path: str, host: str | None = None) -> Location | None:
    """The location nginx picks for path, the way nginx does it.

    An exact `=` match wins; else the longest prefix, unless a regex (`~`, `~*`, in
    the order written) matches and that prefix is not `^~`.
    """
    server = server_for(config, host)
    if server is None:
        return None
    path = path.split("?", 1)[0]
    best: Location | None = None
    for loc in server.locations:
        if loc.modifier == "=" and path == loc.path:
            return loc
        if loc.modifier in ("", "^~") and path.startswith(loc.path) and (
                best is None or len(loc.path) > len(best.path)):
            best = loc
    if best is not None and best.modifier == "^~":
        return best
    for loc in server.locations:
        if loc.modifier in ("~", "~*"):
            try:
                flags = re.IGNORECASE if loc.modifier == "~*" else 0
                if re.search(pcre_to_python(loc.path), path, flags):
                    return loc
            except re.error:
                continue  # PCRE syntax Python's re lacks; nginx may still match it
    return best


class Route:
    """Baseline: where the old server_for/location_for send a request."""

    def __init__(self, server: ServerBlock | None, location: Location | None) -> None:
        self.server = server
        self.location = location

    @property
    def handler_label(self) -> str:
        loc = self.location
        if loc is None or not loc.proxy_pass:
            return "static"
        d = next((d for d in loc.directives if d.name == "proxy_pass"), None)
        return f"proxy {d.where}" if d else "proxy ?"


def route(config: NginxConfig, url: tuple[str, str, int, str], addr: str | None = None,
          files: object = None) -> Route:
    """Baseline route."""
    _scheme, host, port, path = url
    return Route(server_for(config, host, port), location_for(config, path, host))
