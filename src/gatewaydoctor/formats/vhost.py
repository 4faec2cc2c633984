"""Which server block nginx picks for a Host name, and which paths a configuration serves.

Shared by the agent (it requests the URL from the server block that serves its name, and
probes the configuration's own locations) and by facts/routing.py (the full router).
Standard library only: the agent ships it.
"""

import re
from typing import Match, Optional, Sequence, Tuple
from urllib.parse import urlsplit


def pcre_to_python(pattern: str) -> str:
    """PCRE's named groups `(?<n>…)`/`(?'n'…)` are `(?P<n>…)` in Python."""
    return re.sub(r"\(\?(?:<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)')",
                  lambda m: f"(?P<{m.group(1) or m.group(2)}>", pattern)


def search(pattern: str, text: str, icase: bool = False) -> Optional[Match[str]]:
    """A PCRE pattern searched with Python's re (None where re cannot read it)."""
    try:
        return re.search(pcre_to_python(pattern), text, re.IGNORECASE if icase else 0)
    except re.error:
        return None


def match_name(servers: Sequence[Sequence[str]], name: str) -> Optional[Tuple[int, str, str]]:
    """nginx's server_name order over each server's names (none written is nginx's empty
    name): exact, longest `*.x`, longest `x.*`, first regex. Returns (index, the name that
    matched, `exact`/`leading wildcard`/`trailing wildcard`/`regex`), or None."""
    names = [list(s) or [""] for s in servers]
    for i, ns in enumerate(names):
        for n in ns:
            low = n.lower()
            if low == name or (low.startswith(".") and low[1:] == name):
                return i, n, "exact"
    best: Optional[Tuple[int, int, str]] = None
    for i, ns in enumerate(names):
        for n in ns:
            low = n.lower()
            suffix = low[1:] if low.startswith("*.") else low if low.startswith(".") else None
            if suffix and name.endswith(suffix) and len(name) > len(suffix) and (
                    best is None or len(suffix) > best[0]):
                best = (len(suffix), i, n)
    if best:
        return best[1], best[2], "leading wildcard"
    for i, ns in enumerate(names):
        for n in ns:
            low = n.lower()
            if low.endswith(".*") and name.startswith(low[:-1]) and len(name) > len(low) - 1 \
                    and (best is None or len(low) > best[0]):
                best = (len(low), i, n)
    if best:
        return best[1], best[2], "trailing wildcard"
    for i, ns in enumerate(names):
        for n in ns:
            if n.startswith("~") and search(n[1:], name):
                return i, n, "regex"
    return None


def plain_location(args: Sequence[str]) -> Optional[Tuple[str, str]]:
    """(modifier, path) of a location nginx matches by its literal path (`=`, `^~` or
    none); None for regex and named locations, which name no path to request."""
    if len(args) == 2 and args[0] in ("=", "^~"):
        return args[0], args[1]
    if len(args) == 1 and args[0].startswith("/"):
        return "", args[0]
    if len(args) == 1 and args[0].startswith("=/"):  # `location =/x` (no space)
        return "=", args[0][1:]
    return None


def proxied_path(target: str, location: str, modifier: str, path: str) -> Optional[str]:
    """The URI nginx sends upstream for a request of `path` in `location`: with a URI part
    in the proxy_pass target, the part of the path the location matched is replaced by it;
    without one, the path as it came. None when the target holds variables (decided per
    request) or has no scheme."""
    if "$" in target:
        return None
    m = re.match(r"[a-z]+://(unix:[^:]*:?|\[[^\]]*\](?::\d+)?|[^/]*)(.*)", target)
    if m is None:
        return None
    hostpart, uri = m.groups()
    if hostpart.startswith("unix:"):
        # `http://unix:/run/a.sock:/prefix/`: the URI follows the socket path's colon.
        uri = uri if hostpart.endswith(":") else ""
    if not uri:
        return path
    if modifier == "=":
        return uri
    return uri + path[len(location):] if path.startswith(location) else uri


def url_request(url: str) -> Tuple[str, str, int, str, bool]:
    """(Host header, host name, port, path with query, tls) of the request a client makes
    for url; ValueError if it is not an http(s) URL."""
    parts = urlsplit(url if "://" in url else "http://" + url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url}")
    tls = parts.scheme == "https"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return (parts.netloc.rpartition("@")[2], parts.hostname.rstrip("."),
            parts.port or (443 if tls else 80), path, tls)
