"""Probes made from the host (HTTP GETs and TCP connects), and how the URL's name resolved."""

from __future__ import annotations

import dataclasses

from ..evidence import Item
from ..facts import NameLookup, Probe


def probe(item: Item) -> Probe | None:
    """Build a Probe from a `probe.*` item; None if the probe could not be made at all."""
    d = item.data
    if not d:
        return None
    return Probe(
        source=item.source,
        kind="connect" if d.get("probe") == "connect" else "http",
        via=str(d.get("via", "direct")),
        endpoint=str(d.get("endpoint", "")),
        path=d.get("path"),
        host_header=d.get("host_header"),
        status=d.get("status"),
        server=d.get("server"),
        body_head=d.get("body_head"),
        elapsed=d.get("elapsed"),
        error=d.get("error"),
        errno=d.get("errno"),
        netns_of=d.get("netns_of") if isinstance(d.get("netns_of"), int) else None,
    )


def name_lookup(item: Item) -> NameLookup | None:
    """How the URL's host name resolved from the host (a `net.resolve:` item)."""
    d = item.data
    if not d or not item.ok:
        return None
    addresses = [a for a in d.get("addresses") or () if isinstance(a, dict)]
    return NameLookup(
        source=item.source, host=str(d.get("host") or item.subject),
        addresses=tuple(str(a.get("address")) for a in addresses),
        local=tuple(str(a.get("address")) for a in addresses if a.get("local")),
        error=d.get("error"))


def went_elsewhere(probes: tuple[Probe, ...]) -> tuple[Probe, ...]:
    """The URL's own probe marked as gone elsewhere (its name does not lead here)."""
    return tuple(dataclasses.replace(p, elsewhere=True) if p.via == "url" else p
                 for p in probes)
