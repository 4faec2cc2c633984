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
    netns: str | None = None  # its network namespace (`net:[4026531840]`), if it could be read
    container: str | None = None  # the id (or LXC name) of the container it runs in

    @property
    def command(self) -> str:
        """The command line as one string."""
        return " ".join(self.cmdline) or f"[{self.comm}]"


@dataclass(frozen=True)
class Container:
    """A container processes run in, named from what runs it (podman's conmon, Docker's
    config.v2.json); the id alone where its runtime keeps no name we can read."""

    runtime: str  # docker, podman, containerd, cri-o, kubernetes, lxc
    id: str
    name: str | None
    log: str | None  # where its runtime writes its output (json-file, k8s-file)
    pids: tuple[int, ...]
    netns: str | None

    @property
    def label(self) -> str:
        """`podman container gd-proxy`, `docker container 3f2a1b9c0d4e`."""
        return f"{self.runtime} container {self.name or self.id[:12]}"

    @property
    def exec_prefix(self) -> str | None:
        """How to run a command inside it, where its runtime has a CLI for that."""
        tool = {"docker": "docker", "podman": "podman"}.get(self.runtime)
        return f"{tool} exec {self.name or self.id[:12]}" if tool else None


@dataclass(frozen=True)
class NetNamespace:
    """A network namespace other than the one the evidence was gathered in, with its
    listening TCP sockets (read from one of its processes' /proc/PID/net/tcp{,6})."""

    netns: str
    pid: int
    listeners: tuple[Listener, ...]
    table: str


@dataclass(frozen=True)
class Namespaces:
    """The network namespaces and containers the host's processes run in."""

    own: str | None  # the gatherer's network namespace
    others: tuple[NetNamespace, ...]
    containers: tuple[Container, ...]
    source: str

    def container(self, cid: str | None) -> Container | None:
        """The container with this id, if seen."""
        return next((c for c in self.containers if c.id == cid), None) if cid else None

    def foreign(self, netns: str | None) -> NetNamespace | None:
        """The namespace `netns` if it is not the gatherer's own and its table was read."""
        return next((n for n in self.others if n.netns == netns), None) \
            if netns and netns != self.own else None


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
