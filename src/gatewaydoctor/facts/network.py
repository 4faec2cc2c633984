"""Between client and app: HTTP/TCP probes made from the host, packet filters, SELinux."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Probe:
    """An HTTP or TCP probe made from the host."""

    source: str
    kind: str
    via: str
    endpoint: str
    path: str | None
    host_header: str | None
    status: int | None
    server: str | None
    body_head: str | None
    elapsed: float | None
    error: str | None
    errno: int | None

    @property
    def where(self) -> str:
        """How evidence cites the probe: `probe <label>`."""
        return f"probe {self.label}"

    @property
    def failed(self) -> bool:
        """No answer, or a 5xx answer."""
        return self.error is not None or (self.status is not None and self.status >= 500)

    @property
    def outcome(self) -> str:
        """`200 OK`-style summary: status (and Server header) or the error text."""
        if self.error:
            return self.error
        if self.kind == "connect":
            return "connected"
        server = f" (Server: {self.server})" if self.server else ""
        return f"HTTP {self.status}{server}"

    @property
    def label(self) -> str:
        """What was probed, as a human reads it."""
        if self.kind == "connect":
            return f"connect {self.endpoint}"
        host = f" Host: {self.host_header}" if self.host_header else ""
        return f"GET {self.endpoint}{self.path or ''}{host}"


@dataclass(frozen=True)
class FirewallRule:
    """One packet-filter rule (nft, iptables-save or ufw), reduced to what matters for ports."""

    tool: str
    table: str
    chain: str
    hook: str | None
    verdict: str
    proto: str | None
    ports: tuple[int, ...] | None
    iif: str | None
    iif_negated: bool
    saddr: str | None
    text: str
    where: str


@dataclass(frozen=True)
class ChainPolicy:
    """A base chain's default policy (`policy drop`, `:INPUT DROP`, ufw `Default: deny`)."""

    tool: str
    table: str
    chain: str
    hook: str | None
    policy: str
    where: str


@dataclass(frozen=True)
class FirewallState:
    """The packet filter as the read-only listing commands print it."""

    tools: tuple[str, ...]
    rules: tuple[FirewallRule, ...]
    policies: tuple[ChainPolicy, ...]


@dataclass(frozen=True)
class AvcDenial:
    """One SELinux `avc:  denied` record."""

    permissions: tuple[str, ...]
    comm: str | None
    scontext: str | None
    tcontext: str | None
    tclass: str | None
    dest: int | None
    path: str | None
    permissive: bool
    raw: str
    source: str


@dataclass(frozen=True)
class SelinuxState:
    """Whether SELinux is on, and the denials logged recently."""

    present: bool
    mode: str | None
    denials: tuple[AvcDenial, ...]
    source: str
