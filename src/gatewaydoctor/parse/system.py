"""System resources (memory, load, disks, open-file limits) and SELinux state."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..evidence import Evidence, Item
from ..facts import AvcDenial, DiskUsage, OpenFileLimit, SelinuxState, SystemState
from ..formats import journal, sources

AVC_RE = re.compile(r"avc:\s+denied\s+\{\s*([^}]*)\}")


def _meminfo(item: Item | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in _read(item).splitlines():
        key, _, rest = line.partition(":")
        words = rest.split()
        if words and words[0].isdigit():
            out[key.strip()] = int(words[0])
    return out


def _read(item: Item | None) -> str:
    """The text of an item that was gathered, else ""."""
    return (item.stdout if item is not None and item.ok else None) or ""


def _load(item: Item | None) -> tuple[tuple[float, float, float] | None, int | None]:
    """(the 1, 5 and 15 minute load averages, the number of CPUs) from /proc/loadavg."""
    text = _read(item)
    if item is None or not text:
        return None, None
    words = text.split()
    try:
        load = (float(words[0]), float(words[1]), float(words[2]))
    except (ValueError, IndexError):
        return None, (item.data or {}).get("cpus")
    return load, (item.data or {}).get("cpus")


def _file_nr(item: Item | None) -> tuple[int, int, int] | None:
    """/proc/sys/fs/file-nr: handles allocated, free, and the system-wide maximum."""
    nums = _read(item).split()
    if len(nums) == 3 and all(n.isdigit() for n in nums):
        return int(nums[0]), int(nums[1]), int(nums[2])
    return None


def _records(item: Item | None, key: str) -> list[dict[str, Any]]:
    """The agent's records under data[key] (read even from an item that failed part-way)."""
    return list((item.data or {}).get(key, [])) if item is not None else []


def _disk(d: dict[str, Any]) -> DiskUsage:
    return DiskUsage(path=str(d["path"]), mount_point=d.get("mount_point"),
                     fstype=d.get("fstype"), total=int(d.get("total") or 0),
                     avail=int(d.get("avail") or 0), files=int(d.get("files") or 0),
                     favail=int(d.get("favail") or 0))


def _limit(r: dict[str, Any]) -> OpenFileLimit:
    return OpenFileLimit(pid=int(r["pid"]), comm=str(r.get("comm", "")), soft=r.get("soft"),
                         hard=r.get("hard"), open_fds=r.get("open_fds"))


def system_state(ev: Evidence) -> SystemState | None:
    """Memory, load, disks and limits; None when none of them was gathered."""
    mem_item, load_item = ev.get(sources.MEMORY), ev.get(sources.LOAD)
    disk_item, limits_item = ev.get(sources.DISK), ev.get(sources.LIMITS)
    if all(i is None or not i.ok for i in (mem_item, load_item, disk_item, limits_item)):
        return None
    mem = _meminfo(mem_item)
    load, cpus = _load(load_item)
    return SystemState(
        mem_total_kb=mem.get("MemTotal"), mem_available_kb=mem.get("MemAvailable"),
        swap_total_kb=mem.get("SwapTotal"), swap_free_kb=mem.get("SwapFree"),
        load=load, cpus=cpus, disks=tuple(map(_disk, _records(disk_item, "disks"))),
        file_nr=_file_nr(ev.get(sources.FILE_NR)),
        limits=tuple(map(_limit, _records(limits_item, "processes"))),
    )


def _field(text: str, name: str) -> str | None:
    m = re.search(rf"\b{name}=(\"[^\"]*\"|\S+)", text)
    return m.group(1).strip('"') if m else None


def avc_denial(text: str, source: str) -> AvcDenial | None:
    """Parse one `avc:  denied  { perm } for ...` record (signatures.md §9)."""
    m = AVC_RE.search(text)
    if not m:
        return None
    dest = _field(text, "dest")
    return AvcDenial(
        permissions=tuple(m.group(1).split()), comm=_field(text, "comm"),
        scontext=_field(text, "scontext"), tcontext=_field(text, "tcontext"),
        tclass=_field(text, "tclass"), dest=int(dest) if dest and dest.isdigit() else None,
        path=_field(text, "path") or _field(text, "name"),
        permissive=_field(text, "permissive") == "1", raw=text.strip(), source=source,
    )


def _avc_lines(item: Item) -> list[str]:
    if item.kind == "file":
        return [line for line in (item.stdout or "").splitlines() if "avc:" in line]
    messages = (journal.message(r.get("MESSAGE")) for r in journal.records(item.stdout or ""))
    return [m for m in messages if "avc:" in m]


def _mode(data: Mapping[str, Any]) -> str | None:
    """`enforcing` or `permissive` (None when SELinux is absent or its mode unknown)."""
    enforce = data.get("enforce")
    if not data.get("present"):
        return None
    return "enforcing" if enforce else "permissive" if enforce is False else None


def _denials(ev: Evidence) -> list[AvcDenial]:
    """AVC denials from the journal, the audit log and the kernel log."""
    kernel = ev.get(sources.KERNEL_JOURNAL)
    avc_items = [*ev.prefixed(sources.SELINUX_AVC), *ev.prefixed(sources.AUDIT_LOG_PREFIX)]
    found = []
    for item in avc_items + ([kernel] if kernel is not None else []):
        if item.ok:
            label = item.path or item.label()
            found += [avc_denial(line, label) for line in _avc_lines(item)]
    return [d for d in found if d is not None]


def selinux_state(ev: Evidence) -> SelinuxState | None:
    """SELinux mode and the recent AVC denials."""
    item = ev.get(sources.SELINUX)
    if item is None:
        return None
    data = item.data or {}
    return SelinuxState(present=bool(data.get("present")), mode=_mode(data),
                        denials=tuple(_denials(ev)), source="/sys/fs/selinux/enforce")
