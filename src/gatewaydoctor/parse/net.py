"""Listening sockets (sock_diag, /proc/net/{tcp,tcp6,unix}) and processes from /proc."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any, Tuple

from ..evidence import Item
from ..facts import Endpoint, Listener, Process
from ..formats import container, execspec

TCP_LISTEN = "0A"
SO_ACCEPTCON = 0x10000


def _hex_addr(text: str) -> str:
    """Decode the kernel's hex address: 32-bit words in host (little-endian) order."""
    raw = bytes.fromhex(text)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


RawListener = Tuple[str, Endpoint, int, str]  # proto, endpoint, inode, where it was seen


def tcp_listeners(item: Item, proto: str) -> list[RawListener]:
    """Parse /proc/net/tcp or tcp6 into LISTEN sockets."""
    return table_listeners(item.stdout or "", proto, f"/proc/net/{proto}")


def table_listeners(text: str, proto: str, where: str) -> list[RawListener]:
    """The LISTEN sockets of a /proc/net/tcp{,6} table's text (any namespace's)."""
    out = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 10 or f[3] != TCP_LISTEN:
            continue
        addr, _, port = f[1].partition(":")
        out.append((proto, Endpoint(host=_hex_addr(addr), port=int(port, 16)), int(f[9]),
                    where))
    return out


def diag_listeners(item: Item) -> list[RawListener]:
    """The agent's sock_diag answer: listening TCP sockets."""
    data: Mapping[str, Any] = item.data or {}
    where = item.path or "sock_diag"
    return [(str(s["family"]), Endpoint(host=str(s["host"]), port=int(s["port"])),
             int(s["inode"]), where) for s in data.get("sockets", [])]


def unix_listeners(item: Item) -> list[RawListener]:
    """Parse /proc/net/unix into listening sockets that have a path."""
    out = []
    for line in (item.stdout or "").splitlines()[1:]:
        f = line.split()
        if len(f) < 8:
            continue
        if not int(f[3], 16) & SO_ACCEPTCON:
            continue
        out.append(("unix", Endpoint(path=f[7]), int(f[6]), "/proc/net/unix"))
    return out


def _unit_of(cgroup: str | None) -> str | None:
    for part in reversed((cgroup or "").split("/")):
        if part.endswith(".service"):
            return part
    return None


def processes(item: Item) -> list[Process]:
    """Build processes from the agent's /proc listing."""
    data: Mapping[str, Any] = item.data or {}
    me = data.get("self_pid")
    out = []
    for p in data.get("processes", []):
        if p.get("pid") == me:
            continue  # the gatherer itself
        cmd = tuple(p.get("cmdline") or ())
        out.append(Process(
            pid=int(p["pid"]), comm=str(p.get("comm", "")), cmdline=cmd, uid=p.get("uid"),
            cwd=p.get("cwd"), exe=p.get("exe"), unit=_unit_of(p.get("cgroup")),
            start_time=p.get("start_time"),
            socket_inodes=frozenset(int(i) for i in p.get("socket_inodes") or ()),
            server=execspec.server_of(list(cmd)),
            netns=p.get("netns") if isinstance(p.get("netns"), str) else None,
            container=(container.container_of(p.get("cgroup")) or (None, None))[1],
        ))
    return out


def listeners(raw: list[RawListener], procs: Iterable[Process]) -> list[Listener]:
    """Attach the pids holding each listening socket's inode."""
    owners: dict[int, list[int]] = {}
    for p in procs:
        for inode in p.socket_inodes:
            owners.setdefault(inode, []).append(p.pid)
    return [Listener(proto, ep, inode, tuple(sorted(owners.get(inode, ()))), table)
            for proto, ep, inode, table in raw]
