"""System resources (memory, load, disks, open-file limits) and SELinux state."""

from __future__ import annotations

import re

from ..evidence import Evidence, Item
from ..facts import AvcDenial, DiskUsage, OpenFileLimit, SelinuxState, SystemState
from ..formats import sources

AVC_RE = re.compile(r"avc:\s+denied\s+\{\s*([^}]*)\}")


def _meminfo(item: Item | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in ((item.stdout if item is not None and item.ok else None) or "").splitlines():
        key, _, rest = line.partition(":")
        words = rest.split()
        if words and words[0].isdigit():
            out[key.strip()] = int(words[0])
    return out


def system_state(ev: Evidence) -> SystemState | None:
    """Memory, load, disks and limits; None when none of them was gathered."""
    mem_item, load_item = ev.get(sources.MEMORY), ev.get(sources.LOAD)
    disk_item, limits_item = ev.get(sources.DISK), ev.get(sources.LIMITS)
    nr_item = ev.get(sources.FILE_NR)
    if all(i is None or not i.ok for i in (mem_item, load_item, disk_item, limits_item)):
        return None
    mem = _meminfo(mem_item)
    load: tuple[float, float, float] | None = None
    cpus = None
    if load_item is not None and load_item.ok and load_item.stdout:
        words = load_item.stdout.split()
        try:
            load = (float(words[0]), float(words[1]), float(words[2]))
        except (ValueError, IndexError):
            load = None
        cpus = (load_item.data or {}).get("cpus")
    file_nr = None
    if nr_item is not None and nr_item.ok and nr_item.stdout:
        nums = nr_item.stdout.split()
        if len(nums) == 3 and all(n.isdigit() for n in nums):
            file_nr = (int(nums[0]), int(nums[1]), int(nums[2]))
    disks = tuple(
        DiskUsage(path=str(d["path"]), mount_point=d.get("mount_point"), fstype=d.get("fstype"),
                  total=int(d.get("total") or 0), avail=int(d.get("avail") or 0),
                  files=int(d.get("files") or 0), favail=int(d.get("favail") or 0))
        for d in ((disk_item.data or {}).get("disks", []) if disk_item is not None else [])
    )
    limits = tuple(
        OpenFileLimit(pid=int(r["pid"]), comm=str(r.get("comm", "")), soft=r.get("soft"),
                      hard=r.get("hard"), open_fds=r.get("open_fds"))
        for r in ((limits_item.data or {}).get("processes", []) if limits_item is not None
                  else [])
    )
    return SystemState(
        mem_total_kb=mem.get("MemTotal"), mem_available_kb=mem.get("MemAvailable"),
        swap_total_kb=mem.get("SwapTotal"), swap_free_kb=mem.get("SwapFree"),
        load=load, cpus=cpus, disks=disks, file_nr=file_nr, limits=limits,
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
    from .systemd import journal_entries

    return [e.message for e in journal_entries(item, None) if "avc:" in e.message]


def selinux_state(ev: Evidence) -> SelinuxState | None:
    """SELinux mode and the recent AVC denials."""
    item = ev.get(sources.SELINUX)
    if item is None:
        return None
    data = item.data or {}
    present = bool(data.get("present"))
    enforce = data.get("enforce")
    mode = None if not present else ("enforcing" if enforce else "permissive"
                                     if enforce is False else None)
    denials: list[AvcDenial] = []
    kernel = ev.get(sources.KERNEL_JOURNAL)
    avc_items = [*ev.prefixed(sources.SELINUX_AVC), *ev.prefixed(sources.AUDIT_LOG_PREFIX)]
    for avc_item in avc_items + ([kernel] if kernel is not None else []):
        if not avc_item.ok:
            continue
        label = avc_item.path or avc_item.label()
        for line in _avc_lines(avc_item):
            d = avc_denial(line, label)
            if d is not None:
                denials.append(d)
    return SelinuxState(present=present, mode=mode, denials=tuple(denials),
                        source="/sys/fs/selinux/enforce")
