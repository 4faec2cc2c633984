"""Probes made from the host (HTTP GETs and TCP connects)."""

from __future__ import annotations

from ..evidence import Item
from ..facts import Probe


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
    )
