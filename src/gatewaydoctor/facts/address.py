"""Where things listen and connect: TCP host:port or unix socket, and which listener a
connection reaches."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..formats.endpoint import split_endpoint

_LOOPBACK_NAMES = {"localhost": ("127.0.0.1", "::1"), "ip6-localhost": ("::1",)}


@dataclass(frozen=True)
class Endpoint:
    """Where something listens or connects: a TCP host:port or a unix socket path."""

    host: str | None = None
    port: int | None = None
    path: str | None = None

    @property
    def label(self) -> str:
        """`127.0.0.1:8000`, `[::1]:8000` or `unix:/run/app.sock`."""
        if self.path is not None:
            return f"unix:{self.path}"
        host = self.host or "*"
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    @classmethod
    def parse(cls, text: str, default_port: int = 80) -> Endpoint:
        """Parse `host:port`, `[v6]:port`, `host`, a bare `port` or `unix:/path`."""
        host, port, path = split_endpoint(text, default_port)
        return cls(host=host, port=port, path=path)

    def addresses(self) -> tuple[str, ...]:
        """The IP addresses this endpoint's host stands for (names resolved for loopback only)."""
        if self.host is None:
            return ()
        return _LOOPBACK_NAMES.get(self.host, (self.host,))

    def accepts(self, target: Endpoint) -> bool:
        """Tell whether a listener bound at self receives connections made to target."""
        if self.path is not None or target.path is not None:
            return self.path == target.path
        if self.port != target.port:
            return False
        for want in target.addresses():
            for have in self.addresses():
                if have == want or have in ("*", "::"):
                    return True
                if have == "0.0.0.0" and _is_v4(want):
                    return True
        return False

    # proxy_pass targets (upstream-not-listening, upstream-mismatch)

    @property
    def on_this_host(self) -> bool:
        """A unix socket, or a loopback/wildcard host: its listeners are visible here."""
        if self.host is None or self.host in ("localhost", "*"):
            return True
        try:
            addr = ipaddress.ip_address(self.host)
        except ValueError:
            return False  # a DNS name or another machine
        return addr.is_loopback or addr.is_unspecified


def _is_v4(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr).version == 4
    except ValueError:
        return False
