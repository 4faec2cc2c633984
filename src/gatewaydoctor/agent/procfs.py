"""Processes from /proc: pid, cmdline, owner, cwd, cgroup, namespaces, start time and socket
inodes."""

import os
import time
from typing import Any, Dict, List, Optional, Tuple

from ..formats import sources
from .runner import Item, new_item

MAX_FDS = 4096


def _read(path: str, limit: int = 65536) -> Optional[bytes]:
    try:
        with open(path, "rb") as fh:
            return fh.read(limit)
    except OSError:
        return None


def _link(path: str) -> Optional[str]:
    try:
        return os.readlink(path)
    except OSError:
        return None


def _boot_time() -> Optional[float]:
    raw = _read("/proc/stat", 1 << 20)
    for line in (raw or b"").splitlines():
        if line.startswith(b"btime "):
            return float(line.split()[1])
    return None


def _ticks() -> int:
    return os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: str) -> Optional[Tuple[str, List[str]]]:
    """(comm, the fields after it) of /proc/<pid>/stat."""
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    # comm may hold spaces and parentheses: split on the last ')'.
    head, _, tail = stat.decode("utf-8", "replace").rpartition(")")
    return head.partition("(")[2], tail.split()


def _start_time(fields: List[str], btime: Optional[float], ticks: int) -> Optional[float]:
    start_ticks = int(fields[19]) if len(fields) > 19 else None
    return (btime + start_ticks / ticks) if btime and start_ticks is not None else None


def start_times(pids: List[int]) -> List[Optional[float]]:
    """When each process started (seconds since the epoch; None if it cannot be told)."""
    btime, ticks = _boot_time(), _ticks()
    stats = [_stat(str(pid)) for pid in pids]
    return [_start_time(st[1], btime, ticks) if st else None for st in stats]


def _process(pid: str, btime: Optional[float], ticks: int) -> Optional[Dict[str, Any]]:
    base = f"/proc/{pid}"
    stat = _stat(pid)
    if stat is None:
        return None
    comm, fields = stat
    cmdline = (_read(base + "/cmdline") or b"").split(b"\0")
    uid = None
    for line in (_read(base + "/status") or b"").splitlines():
        if line.startswith(b"Uid:"):
            uid = int(line.split()[1])
    cgroup = None
    for cg_line in (_read(base + "/cgroup") or b"").decode("utf-8", "replace").splitlines():
        cgroup = cg_line.split(":", 2)[-1]
        if cg_line.startswith("0::"):
            break
    inodes: List[int] = []
    fd_error = None
    try:
        fds = os.listdir(base + "/fd")
    except OSError as exc:
        fds = []
        fd_error = exc.strerror
    for fd in fds[:MAX_FDS]:
        target = _link(f"{base}/fd/{fd}")
        if target and target.startswith("socket:["):
            inodes.append(int(target[8:-1]))
    return {
        "pid": int(pid),
        "ppid": int(fields[1]) if len(fields) > 1 else None,
        "comm": comm,
        "cmdline": [a.decode("utf-8", "replace") for a in cmdline if a],
        "uid": uid,
        "cwd": _link(base + "/cwd"),
        "exe": _link(base + "/exe"),
        "cgroup": cgroup,
        # Which network and mount namespaces it is in (`net:[4026531840]`): a container's
        # 127.0.0.1 and files are its own. None where this user may not look.
        "netns": _link(base + "/ns/net"),
        "mntns": _link(base + "/ns/mnt"),
        "start_time": _start_time(fields, btime, ticks),
        "socket_inodes": inodes,
        "fd_error": fd_error,
    }


def processes(source: str = sources.PROCESSES) -> Item:
    """List every process this user can see, with the socket inodes it holds."""
    item = new_item(source, "listing", path="/proc")
    start = time.monotonic()
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError as exc:
        item.update(error=f"cannot list /proc: {exc.strerror}", error_kind="missing")
        return item
    btime, ticks = _boot_time(), _ticks()
    procs = []
    for pid in pids:
        info = _process(pid, btime, ticks)
        if info is not None:
            procs.append(info)
    procs.sort(key=lambda p: p["pid"])
    item["data"] = {"processes": procs, "boot_time": btime, "self_pid": os.getpid(),
                    "netns": _link("/proc/self/ns/net"), "mntns": _link("/proc/self/ns/mnt")}
    item["duration"] = round(time.monotonic() - start, 4)
    return item
