"""Find service units by reading unit files on disk (standard library only).

`systemctl list-unit-files` costs a quarter of a second and then every unit's
ExecStart must be asked for; reading the files is some milliseconds and also finds
units that are disabled and not loaded.
"""

import os
import time
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

from .runner import Item, new_item

# systemd's search path for system units, highest priority first.
UNIT_DIRS = (
    "/etc/systemd/system.control", "/run/systemd/system.control", "/run/systemd/transient",
    "/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
    "/lib/systemd/system", "/usr/lib/systemd/system",
)
MAX_UNIT_BYTES = 64 * 1024


def _lines(text: str) -> Iterator[str]:
    """A unit file's logical lines: stripped, continuation lines (`\\`) joined."""
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        yield line


def _exec_start(text: str) -> List[str]:
    """The ExecStart= values of a unit file or drop-in (continuation lines joined)."""
    values: List[str] = []
    for line in _lines(text):
        if line.startswith("ExecStart="):
            value = line[len("ExecStart="):].strip()
            if value:
                values.append(value)
            else:
                values.clear()  # an empty ExecStart= resets the list (drop-ins)
    return values


def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(MAX_UNIT_BYTES)
    except OSError:
        return None


def _dropins(name: str, dropin_dirs: Set[str]) -> str:
    """Every drop-in's text in the order systemd applies them (so resets work)."""
    texts = []
    for directory in reversed(UNIT_DIRS):
        dropins = os.path.join(directory, name + ".d")
        if dropins not in dropin_dirs:
            continue
        try:
            confs = sorted(f for f in os.listdir(dropins) if f.endswith(".conf"))
        except OSError:
            continue
        texts += ["\n" + (_read(os.path.join(dropins, conf)) or "") for conf in confs]
    return "".join(texts)


def scan(source: str) -> Item:
    """List service unit files with their effective ExecStart lines."""
    started = time.monotonic()
    seen: Dict[str, Dict[str, Any]] = {}
    errors: List[str] = []
    listings: List[Tuple[str, List[str]]] = []
    dropin_dirs: Set[str] = set()  # `<dir>/<unit>.d`: listed once, not asked per unit
    for directory in UNIT_DIRS:
        try:
            entries = sorted(os.listdir(directory))
        except FileNotFoundError:
            continue
        except OSError as exc:
            errors.append(f"{directory}: {exc.strerror}")
            continue
        listings.append((directory, entries))
        dropin_dirs.update(os.path.join(directory, e) for e in entries if e.endswith(".service.d"))
    for directory, entries in listings:
        for name in entries:
            if not name.endswith(".service") or name in seen or "@." in name:
                continue
            path = os.path.join(directory, name)
            if os.path.realpath(path) == "/dev/null":
                seen[name] = {"name": name, "path": path, "masked": True, "exec_start": []}
                continue
            text = _read(path)
            if text is None:
                continue
            seen[name] = {"name": name, "path": path, "masked": False,
                          "exec_start": _exec_start(text + _dropins(name, dropin_dirs))}
    item = new_item(source, "listing")
    item["data"] = {"units": sorted(seen.values(), key=lambda u: u["name"]),
                    "dirs": list(UNIT_DIRS), "errors": errors}
    item["duration"] = round(time.monotonic() - started, 4)
    return item


# The [Service] settings the app probe needs, as `systemctl show` names them.
_LAST = ("WorkingDirectory", "User", "Group")
_LISTS = {"Environment": "Environment", "EnvironmentFile": "EnvironmentFiles",
          "ExecStart": "ExecStart"}


def file_props(path: str) -> Optional[Dict[str, str]]:
    """The unit file's (and its drop-ins') settings for the app probe, shaped like
    `systemctl show`'s: a guess to start the probe early, which the caller checks against
    what systemd loaded. None when the files use specifiers (`%h`, `%i`...), which only
    systemd expands, or cannot be read."""
    text = _read(path)
    if text is None:
        return None
    name = os.path.basename(path)
    dirs = {os.path.join(d, name + ".d") for d in UNIT_DIRS}
    text += _dropins(name, {d for d in dirs if os.path.isdir(d)})
    values: Dict[str, List[str]] = {key: [] for key in (*_LAST, *_LISTS)}
    section = ""
    for line in _lines(text):
        if line.startswith("["):
            section = line
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if section != "[Service]" or not sep or key not in values:
            continue
        if "%" in value:
            return None
        if key in _LISTS and not value:
            values[key].clear()  # an empty assignment resets the list (drop-ins)
        elif value:
            values[key].append(value)
    props = {key: values[key][-1] for key in _LAST if values[key]}
    props["Environment"] = " ".join(values["Environment"])
    props["EnvironmentFiles"] = " ".join(
        f"{f.lstrip('-')} (ignore_errors={'yes' if f.startswith('-') else 'no'})"
        for v in values["EnvironmentFile"] for f in v.split())
    props["ExecStart"] = values["ExecStart"][-1] if values["ExecStart"] else ""
    return props


def cat(source: str, unit: str, props: Dict[str, str]) -> Item:
    """A unit's files laid out as `systemctl cat` shows them: the fragment systemd loaded,
    then its drop-ins, each after a `# path` line.

    systemctl would ask systemd for these same two properties (FragmentPath, DropInPaths:
    in hand from `systemctl show`) and then read these same files itself; reading them here
    spares a process and a D-Bus call into PID 1, which serves one client at a time. Its
    "changed on disk" warning comes from NeedDaemonReload, also in `systemctl show`.
    """
    fragment = props.get("FragmentPath", "").strip()
    paths = [p for p in (fragment, *props.get("DropInPaths", "").split()) if p]
    item = new_item(source, "file", path=fragment or (paths[0] if paths else None))
    start = time.monotonic()
    parts, unreadable = [], []
    for path in paths:
        text = _read(path)
        if text is None:
            unreadable.append(path)
        else:
            parts.append(f"# {path}\n{text}")
    item["stdout"] = "\n".join(parts)
    if not paths:
        item.update(error=f"systemd knows no unit file for {unit}", error_kind="missing")
    elif unreadable:
        item.update(error=f"cannot read {', '.join(unreadable)}",
                    error_kind="permission" if parts or os.geteuid() else "failed")
    item["duration"] = round(time.monotonic() - start, 4)
    return item
