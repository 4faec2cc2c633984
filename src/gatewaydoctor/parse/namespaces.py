"""The agent's `proc.namespaces` → Namespaces: other network namespaces with their listening
TCP sockets, and the containers processes run in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from ..evidence import Item
from ..facts import Container, Namespaces, NetNamespace, Process
from ..formats import container, sources
from . import net


def _namespace(raw: Mapping[str, Any], procs: Iterable[Process]) -> NetNamespace:
    pid = int(raw["pid"])
    found: list[net.RawListener] = []
    for proto in sources.TCP_TABLES:
        text = (raw.get("tables") or {}).get(proto)
        if isinstance(text, str):
            found += net.table_listeners(text, proto, f"/proc/{pid}/net/{proto}")
    ns = str(raw["netns"])
    members = [p for p in procs if p.netns == ns]
    return NetNamespace(netns=ns, pid=pid, listeners=tuple(net.listeners(found, members)),
                        table=f"/proc/{pid}/net/tcp, /proc/{pid}/net/tcp6")


def _container(raw: Mapping[str, Any]) -> Container:
    def text(key: str) -> str | None:
        value = raw.get(key)
        return value if isinstance(value, str) and value else None

    return Container(runtime=str(raw["runtime"]), id=str(raw["id"]), name=text("name"),
                     log=text("log"), pids=tuple(int(p) for p in raw.get("pids") or ()),
                     netns=text("netns"))


def namespaces_from(item: Item, procs: Iterable[Process]) -> Namespaces:
    """Build the namespaces and containers the agent saw."""
    data: Mapping[str, Any] = item.data or {}
    members = list(procs)
    own = data.get("netns")
    return Namespaces(
        own=own if isinstance(own, str) else None,
        others=tuple(_namespace(n, members) for n in data.get("namespaces") or ()),
        containers=tuple(map(_container, data.get("containers") or ())),
        source=item.label())



def from_listing(listing: Item) -> Namespaces:
    """What the process listing alone tells: the containers its cgroups name (no other
    namespace's sockets, no names)."""
    boxes: dict[str, Container] = {}
    for p in (listing.data or {}).get("processes") or ():
        found = container.container_of(p.get("cgroup"))
        if found is None:
            continue
        runtime, cid = found
        box = boxes.get(cid) or Container(runtime=runtime, id=cid, name=None, log=None,
                                          pids=(), netns=None)
        boxes[cid] = replace(box, pids=(*box.pids, int(p["pid"])))
    return Namespaces(own=None, others=(), containers=tuple(boxes.values()),
                      source=listing.label())
