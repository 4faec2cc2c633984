"""Between client and app: HTTP/TCP probes made from the host, packet filters, SELinux."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..formats.vhost import url_request


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
    # The URL's own request went elsewhere (its name does not resolve here, or resolves to
    # another machine) while this host's nginx was asked the same: not this stack's answer.
    elsewhere: bool = False
    # Made from the network namespace of this process (nginx's, when it runs in its own).
    netns_of: int | None = None

    @property
    def where(self) -> str:
        """How evidence cites the probe: `probe <label>` (and whose namespace it was made
        from, when not the host's)."""
        inside = f" (from the network namespace of pid {self.netns_of})" if self.netns_of \
            else ""
        return f"probe {self.label}{inside}"

    @property
    def failed(self) -> bool:
        """No answer, or a 5xx answer, from this host's stack (a request that went
        elsewhere is not a failure here: the requests made to this host's nginx say)."""
        if self.elsewhere:
            return False
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


def url_at_nginx(url: str | None, probes: Iterable[Probe]) -> list[Probe]:
    """The probes that asked this host's nginx for the URL's path with the URL's Host."""
    if not url:
        return []
    try:
        host, _name, _port, path, _tls = url_request(url)
    except ValueError:
        return []
    return [p for p in probes if p.via == "nginx" and p.kind == "http" and
            p.host_header == host and p.path == path]


@dataclass(frozen=True)
class NameLookup:
    """How the URL's host name resolved from this host: its addresses (and which are this
    host's own), or the resolver's error."""

    source: str
    host: str
    addresses: tuple[str, ...]
    local: tuple[str, ...]
    error: str | None

    @property
    def here(self) -> bool:
        """The name leads to this host (one of its addresses is this host's own)."""
        return bool(self.local)

    @property
    def outcome(self) -> str:
        """`203.0.113.7 (not this host)`-style summary, or the resolver's error."""
        if not self.addresses:
            return self.error or "no address"
        return ", ".join(a + ("" if a in self.local else " (not this host)")
                         for a in self.addresses)


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

    def blocking(self, port: int) -> FirewallRule | ChainPolicy | None:
        """The rule (or chain policy) that stops a client on another host reaching port."""
        chains: dict[tuple[str, str, str], list[FirewallRule]] = {}
        for r in self.rules:
            if _is_input(r):
                chains.setdefault((r.tool, r.table, r.chain), []).append(r)
        for rules in chains.values():
            first = next((r for r in rules if _matches_outside(r, port)), None)
            if first is not None and first.verdict in ("drop", "reject"):
                return first
        return next((p for p in self.policies if _is_input(p) and p.policy in ("drop", "reject")
                     and not _policy_excepted(p, chains, port)), None)


# Input chains by name, where a listing gives no hook (iptables-save, ufw).
INPUT_CHAINS = ("INPUT", "ufw-user-input", "ufw-before-input", "incoming")


def _is_input(r: FirewallRule | ChainPolicy) -> bool:
    return r.hook == "input" or r.chain in INPUT_CHAINS


def _matches_outside(r: FirewallRule, port: int) -> bool:
    """Would this rule match a new TCP connection to port from another host?"""
    if r.proto not in (None, "tcp", "th", "all"):
        return False
    if r.ports is not None and port not in r.ports:
        return False
    if r.ports is None and r.verdict != "accept" and r.proto is None and r.iif is None:
        return False  # a catch-all drop at the end of a chain reads like a policy; see below
    if r.saddr is not None:
        return False  # aimed at given sources: deliberate
    if r.iif == "lo" and not r.iif_negated:
        return False
    text = r.text.lower()
    return not ("established" in text and "new" not in text)


def _policy_excepted(p: ChainPolicy, chains: dict[tuple[str, str, str], list[FirewallRule]],
                     port: int) -> bool:
    """Does a rule accept port before a drop/reject policy applies?"""
    if any(_matches_outside(r, port) and r.verdict == "accept"
           for r in chains.get((p.tool, p.table, p.chain), [])):
        return True
    return any(r.verdict == "accept" and r.ports and port in r.ports and
               _matches_outside(r, port)
               for (tool, _t, _c), rs in chains.items() if tool == p.tool for r in rs)


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
