"""No space left on the filesystem where the app or nginx writes."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import DiskUsage, Facts, SystemState
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Cmd, Found, Text, found, msg

ENOSPC_RE = re.compile(r"\[Errno 28\] No space left on device(?:: '([^']+)')?"
                       r"|\(28: No space left on device\)")
DISK_LOW_BYTES = 50 * 1024 * 1024
EXPLAINS = ("app.startup_failed", "service.crash_loop", "service.start_limit_hit",
            "service.not_running", "upstream.unreachable", "probe.failed", "permission.denied")
TITLE = N_("{unit}: no space left on device ({where})")
FIX = N_("Free space on {mount} (old logs, caches, dumps) or grow it, then restart {unit}.")
COMMANDS = ("df -h {top}", "du -xsh {under}/* | sort -h | tail",
            Cmd("journalctl --vacuum-size=200M", N_("if the journal is what filled it")),
            "{restart}")


@rule(id="GD-SYS-002", symbol="disk-full", category="system.disk_full",
      severity=Severity.ERROR, layer="system", explains=EXPLAINS,
      title=N_("No space left where the app or nginx writes"),
      texts={"default": Text(TITLE, N_(
          "{unit} failed to write {where}: the filesystem mounted at {mount} is full, so the "
          "write fails with ENOSPC and the app errors out (at start-up it exits and restarts, "
          "and nginx answers 502)."), FIX, COMMANDS),
          "unmounted": Text(TITLE, N_(
              "{unit} failed to write {where}: the filesystem is full, so the write fails with "
              "ENOSPC and the app errors out (at start-up it exits and restarts, and nginx "
              "answers 502)."), FIX, COMMANDS),
          "full": Text(N_("{path} is full"), N_(
              "The filesystem holding {path} has no space (or no inodes) left: the next write "
              "there fails with ENOSPC."), N_("Free space on {mount}."),
              ("df -h {path}", "df -i {path}", "du -xsh {mount}/* | sort -h | tail"))})
def disk_full(system: SystemState, facts: Facts) -> Iterator[Found]:
    """`[Errno 28] No space left on device` from the app or nginx, with the filesystem's state."""
    failed = _enospc(facts)
    for unit, (source, line, path) in failed.items():
        yield _write_failed(system, unit, source, line, path)
    for d in () if failed else system.disks:
        if d.total > 0 and (d.avail == 0 or d.favail == 0):
            yield found((Excerpt("statvfs", _disk_line(d)),), (Link("log", _disk_line(d)),),
                        text="full", path=d.path, mount=d.mount_point or d.path)


def _write_failed(system: SystemState, unit: str, source: str, line: str,
                  path: str | None) -> Found:
    """A unit's ENOSPC line, with the state of the filesystem it wrote to."""
    disk = _full_disk(system, path)
    where = path or (disk.path if disk else None)
    mount = disk.mount_point if disk else None
    return found([Excerpt(source, line), *([Excerpt("statvfs", _disk_line(disk))] if disk else [])],
                 (Link("unit", unit), Link("log", line)),
                 text="default" if mount else "unmounted", unit=unit,
                 mount=mount or msg(N_("that filesystem")),
                 where=where or msg(N_("the disk it writes to")),
                 top=where or "/", under=mount or where or "")


def _enospc(facts: Facts) -> dict[str, tuple[str, str, str | None]]:
    """Each unit (or nginx) that failed to write: (source, line, path written if named)."""
    out: dict[str, tuple[str, str, str | None]] = {}
    for e in facts.journal or ():
        m = ENOSPC_RE.search(e.message)
        if m and e.unit:
            out[e.unit] = (e.source, e.message.strip(), m.group(1))
    for t in facts.tracebacks or ():
        m = ENOSPC_RE.search(t.last_line)
        if m and t.unit and t.unit not in out:
            out[t.unit] = (t.source, t.last_line, m.group(1))
    for err in facts.nginx_errors or ():
        if ENOSPC_RE.search(err.message):
            out.setdefault("nginx.service", (err.where, err.raw, None))
    return out


def _full_disk(system: SystemState, path: str | None) -> DiskUsage | None:
    """The deepest nearly full filesystem holding path (any, when path is None)."""
    low = [d for d in system.disks if (d.avail < DISK_LOW_BYTES or d.favail == 0) and (
        path is None or path == d.path or path.startswith(d.path.rstrip("/") + "/"))]
    return max(low, key=lambda d: len(d.path)) if low else None


def _size(n: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20)):
        if n >= factor:
            return f"{n / factor:.1f} {unit}"
    return f"{n // 1024} KiB"


def _disk_line(d: DiskUsage) -> str:
    return (f"{d.path}: {d.fstype or '?'} on {d.mount_point or '?'}, {_size(d.avail)} of "
            f"{_size(d.total)} available ({d.used_pct:g}% used), {d.favail} inodes free")
