"""Endpoints as nginx, the servers and probes spell them: `host:port`, `[v6]:port`, a bare
`host` or `port`, and `unix:/path`."""

from typing import Optional, Tuple, Union

UNIX_PREFIX = "unix:"


def join_hostport(host: str, port: Union[str, int]) -> str:
    """Join host and port, bracketing IPv6 addresses."""
    if ":" in host and not host.startswith("["):
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def split_hostport(text: str, default_port: int = 80) -> Tuple[str, int]:
    """Split `host:port`, `[v6]:port` or `host` into host and port."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    return host, int(port) if port.isdigit() else default_port


# (host, port, unix path): a TCP endpoint has host and port, a unix socket only its path.
Split = Tuple[Optional[str], Optional[int], Optional[str]]


def split_endpoint(text: str, default_port: int = 80) -> Split:
    """Split `host:port`, `[v6]:port`, `host`, a bare `port` (any host) or `unix:/path`."""
    if text.startswith(UNIX_PREFIX):
        path = text[len(UNIX_PREFIX):]
        return None, None, path.rstrip(":") or path
    if text.isdigit():
        return "*", int(text), None
    host, port = split_hostport(text, default_port)
    return host, port, None
