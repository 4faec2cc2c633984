"""System resources: memory, load, disk space where the app and nginx write, open-file limits.

Everything is read from /proc and statvfs(); nothing is run.
"""

import os
import time
from typing import Any, Dict, List, Optional, Tuple

from .runner import Item, new_item

WATCHED_PATHS = ("/var/log", "/var/lib/nginx", "/tmp")
MAX_MOUNTS_BELOW = 8
MAX_LIMIT_PIDS = 24


def _mounts() -> List[Tuple[str, str]]:
    """(mount point, fstype) from /proc/self/mountinfo, in mount order."""
    out = []
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                left, _, right = line.partition(" - ")
                fields = left.split(" ")
                if len(fields) < 5 or not right:
                    continue
                point = fields[4].replace("\\040", " ")
                out.append((point, right.split(" ", 1)[0]))
    except OSError:
        pass
    return out


def _mount_of(path: str, mounts: List[Tuple[str, str]]) -> Tuple[Optional[str], Optional[str]]:
    best: Tuple[Optional[str], Optional[str]] = (None, None)
    for point, fstype in mounts:
        inside = path == point or path.startswith(point.rstrip("/") + "/") or point == "/"
        if inside and (best[0] is None or len(point) >= len(best[0])):
            best = (point, fstype)
    return best


def disk_usage(source: str, workdirs: List[str]) -> Item:
    """statvfs() of each unit's WorkingDirectory (and mounts below it) and of nginx's/tmp dirs."""
    item = new_item(source, "listing")
    start = time.monotonic()
    mounts = _mounts()
    paths: List[str] = []
    for wd in workdirs:
        paths.append(wd)
        below = [p for p, _t in mounts if p.startswith(wd.rstrip("/") + "/")]
        paths += below[:MAX_MOUNTS_BELOW]
    paths += list(WATCHED_PATHS)
    disks: List[Dict[str, Any]] = []
    errors: List[str] = []
    for path in dict.fromkeys(paths):
        try:
            st = os.statvfs(path)
        except OSError as exc:
            errors.append(f"{path}: {exc.strerror}")
            continue
        point, fstype = _mount_of(path, mounts)
        disks.append({
            "path": path, "mount_point": point, "fstype": fstype,
            "total": st.f_blocks * st.f_frsize, "avail": st.f_bavail * st.f_frsize,
            "files": st.f_files, "favail": st.f_favail,
        })
    item["data"] = {"disks": disks, "errors": errors}
    item["duration"] = round(time.monotonic() - start, 4)
    return item


def _limit(text: str) -> Tuple[Optional[int], Optional[int]]:
    for line in text.splitlines():
        if line.startswith("Max open files"):
            words = line[len("Max open files"):].split()
            vals = [None if w == "unlimited" else int(w) for w in words[:2]
                    if w == "unlimited" or w.isdigit()]
            if len(vals) == 2:
                return vals[0], vals[1]
    return None, None


def open_file_limits(source: str, pids: List[Tuple[int, str]]) -> Item:
    """`Max open files` and the descriptor count of the given (pid, comm) processes."""
    item = new_item(source, "listing")
    start = time.monotonic()
    rows: List[Dict[str, Any]] = []
    for pid, comm in pids[:MAX_LIMIT_PIDS]:
        try:
            with open(f"/proc/{pid}/limits", encoding="utf-8") as fh:
                soft, hard = _limit(fh.read())
        except OSError:
            continue
        try:
            nfd: Optional[int] = len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            nfd = None
        rows.append({"pid": pid, "comm": comm, "soft": soft, "hard": hard, "open_fds": nfd})
    item["data"] = {"processes": rows}
    item["duration"] = round(time.monotonic() - start, 4)
    return item


def load(source: str) -> Item:
    """/proc/loadavg and the number of CPUs it is measured against."""
    item = new_item(source, "file", path="/proc/loadavg")
    try:
        with open("/proc/loadavg", encoding="utf-8") as fh:
            item["stdout"] = fh.read(256)
    except OSError as exc:
        item.update(error=f"cannot read /proc/loadavg: {exc.strerror}", error_kind="failed")
        return item
    item["data"] = {"cpus": os.cpu_count()}
    return item
