"""The host itself: listening sockets, processes, accounts, memory, disks, open-file limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .address import Endpoint

PROC_TCP_TABLES = "/proc/net/tcp, /proc/net/tcp6"


@dataclass(frozen=True)
class Listener:
    """A listening socket, with the processes holding it."""

    proto: str
    endpoint: Endpoint
    inode: int
    pids: tuple[int, ...]
    table: str  # where it was seen: /proc/net/tcp, /proc/net/unix, sock_diag netlink ...


@dataclass(frozen=True)
class Process:
    """A process from /proc."""

    pid: int
    comm: str
    cmdline: tuple[str, ...]
    uid: int | None
    cwd: str | None
    exe: str | None
    unit: str | None
    start_time: float | None
    socket_inodes: frozenset[int]
    server: str | None

    @property
    def command(self) -> str:
        """The command line as one string."""
        return " ".join(self.cmdline) or f"[{self.comm}]"


@dataclass(frozen=True)
class Accounts:
    """User and group names of the host (no secrets: names, ids, group members)."""

    users: Mapping[str, tuple[int, int]]
    groups: Mapping[int, tuple[str, tuple[str, ...]]]

    def user_name(self, uid: int | None) -> str:
        """`app` for 1500, else the number."""
        return next((n for n, (u, _g) in self.users.items() if u == uid), str(uid))

    def group_name(self, gid: int | None) -> str:
        """`app` for 1500, else the number."""
        return self.groups[gid][0] if gid is not None and gid in self.groups else str(gid)

    def gids_of(self, user: str) -> frozenset[int]:
        """The primary and supplementary group ids of a user name."""
        primary = {self.users[user][1]} if user in self.users else set()
        return frozenset(primary | {g for g, (_n, members) in self.groups.items()
                                    if user in members})


@dataclass(frozen=True)
class DiskUsage:
    """Space on the filesystem holding a path the app or nginx writes."""

    path: str
    mount_point: str | None
    fstype: str | None
    total: int
    avail: int
    files: int
    favail: int
    source: str = "statvfs"  # how it was measured

    @property
    def used_pct(self) -> float:
        """Percent of the blocks in use (as `df` counts, against what users may use)."""
        return 100.0 if self.total <= 0 else round(100.0 * (self.total - self.avail) /
                                                   self.total, 1)


@dataclass(frozen=True)
class OpenFileLimit:
    """A process's `Max open files` and how many descriptors it holds."""

    pid: int
    comm: str
    soft: int | None
    hard: int | None
    open_fds: int | None


@dataclass(frozen=True)
class SystemState:
    """Memory, load, disk space and open-file limits of the host."""

    mem_total_kb: int | None
    mem_available_kb: int | None
    swap_total_kb: int | None
    swap_free_kb: int | None
    load: tuple[float, float, float] | None
    cpus: int | None
    disks: tuple[DiskUsage, ...]
    file_nr: tuple[int, int, int] | None
    limits: tuple[OpenFileLimit, ...]
