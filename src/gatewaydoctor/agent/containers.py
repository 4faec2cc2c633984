"""Containers as services: every container the host's runtimes know, running or not, and the
output of those that run a Python web server (standard library only, read-only).

- Podman keeps its containers in a database only its CLI reads: `podman ps -a --format json`
  (as the user running the agent: root sees the system's containers), and `podman logs`.
- Docker keeps one `config.v2.json` (state, command, name, log path) and one
  `hostconfig.json` (published ports, restart policy) per container under its data root,
  and the output in a json-file log: read as files, no daemon needed.
Each container becomes one record of the same shape whatever its runtime.
"""

import json
import os
from typing import Any, Dict, List, Optional, Tuple

from ..formats import execspec, sources
from .namespaces import docker_root
from .runner import Item, new_item, run, which

MAX_CONTAINERS = 200
MAX_LOGGED = 8  # containers whose output is read
LOG_LINES = 200
LOG_BYTES = 256 * 1024


def _podman_record(c: Dict[str, Any]) -> Dict[str, Any]:
    names = c.get("Names") or []
    return {"runtime": "podman", "id": c.get("Id"), "name": names[0] if names else None,
            "image": c.get("Image") or None, "state": c.get("State"),
            "exit_code": c.get("ExitCode"), "pid": c.get("Pid") or None,
            "command": [str(a) for a in c.get("Command") or []], "workdir": None,
            "restarts": c.get("Restarts"), "restart_policy": None,
            "ports": c.get("Ports") or [], "log": None, "oom_killed": None,
            "status": c.get("Status")}


# Where podman keeps its containers unless told otherwise (containers-storage.conf(5)).
PODMAN_STORE = "/var/lib/containers/storage"


def podman_used(processes: List[Dict[str, Any]]) -> bool:
    """Podman has containers here: its monitor (conmon) runs, its store exists, or this
    environment names a store of its own. Only then is it asked: its first run on a host
    creates its state folders, and diagnosing never changes the host."""
    return (os.path.isdir(PODMAN_STORE) or bool(os.environ.get("CONTAINERS_STORAGE_CONF"))
            or any(os.path.basename(str((p.get("cmdline") or [""])[0])) == "conmon"
                   for p in processes))


def podman(source: str, processes: List[Dict[str, Any]]) -> Optional[Item]:
    """`podman ps -a --format json`, normalised; None where podman is not installed or has
    no containers here."""
    if which("podman") is None or not podman_used(processes):
        return None
    item = run(source, ["podman", "ps", "-a", "--format", "json"], timeout=10)
    if item["rc"] == 0:
        try:
            listed = json.loads(item["stdout"] or "[]")
        except ValueError as exc:
            item.update(error=f"podman ps printed no JSON: {exc}", error_kind="failed")
            return item
        item["data"] = {"containers": [_podman_record(c) for c in listed[:MAX_CONTAINERS]
                                       if isinstance(c, dict)]}
        item["stdout"] = ""  # the records hold what was read (and no environment)
    return item


def _read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def _docker_record(folder: str) -> Optional[Dict[str, Any]]:
    conf = _read_json(os.path.join(folder, "config.v2.json"))
    if not isinstance(conf, dict):
        return None
    host = _read_json(os.path.join(folder, "hostconfig.json")) or {}
    state, config = conf.get("State") or {}, conf.get("Config") or {}
    running = bool(state.get("Running"))
    return {"runtime": "docker", "id": conf.get("ID"),
            "name": str(conf.get("Name") or "").lstrip("/") or None,
            "image": config.get("Image"),
            "state": "restarting" if state.get("Restarting") else
            "running" if running else "exited",
            "exit_code": state.get("ExitCode"), "pid": state.get("Pid") or None,
            "command": [str(a) for a in (config.get("Entrypoint") or []) +
                        (config.get("Cmd") or [])],
            "workdir": config.get("WorkingDir") or None,
            "restarts": conf.get("RestartCount"),
            "restart_policy": (host.get("RestartPolicy") or {}).get("Name") or None,
            "ports": sorted((host.get("PortBindings") or {}).items()),
            "log": conf.get("LogPath") or None, "oom_killed": state.get("OOMKilled"),
            "status": state.get("Error") or None}


def docker(source: str, processes: List[Dict[str, Any]]) -> Optional[Item]:
    """Docker's containers from the files under its data root; None where there is none."""
    root = docker_root(processes)
    folder = os.path.join(root, "containers")
    if not os.path.isdir(folder):
        return None
    item = new_item(source, "listing", path=folder)
    try:
        ids = sorted(os.listdir(folder))[:MAX_CONTAINERS]
    except OSError as exc:
        item.update(error=f"cannot list {folder}: {exc.strerror}", error_kind="denied")
        return item
    found = [_docker_record(os.path.join(folder, i)) for i in ids]
    item["data"] = {"containers": [c for c in found if c is not None]}
    return item


def serves(record: Dict[str, Any]) -> bool:
    """The container runs a Python web server (its output is worth reading)."""
    return execspec.server_of(list(record.get("command") or [])) not in (None, "python")


def _json_file_tail(path: str) -> Tuple[str, Optional[str]]:
    """The last lines of a Docker json-file log, as the lines the container printed."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - LOG_BYTES))
            raw = fh.read().decode("utf-8", "replace").splitlines()
    except OSError as exc:
        return "", f"cannot read {path}: {exc.strerror}"
    lines = []
    for line in raw[-LOG_LINES:]:
        try:
            lines.append(str(json.loads(line).get("log", "")).rstrip("\n"))
        except (ValueError, AttributeError):
            continue  # the first line of the window, cut in the middle
    return "\n".join(lines) + ("\n" if lines else ""), None


def output(record: Dict[str, Any]) -> Item:
    """What the container printed last: `podman logs --tail`, or Docker's json-file log."""
    name = str(record.get("name") or record.get("id"))
    source = sources.container_log(name)
    if record.get("runtime") == "podman":
        return run(source, ["podman", "logs", "--tail", str(LOG_LINES), name], timeout=10)
    path = str(record.get("log") or "")
    item = new_item(source, "file", path=path)
    text, error = _json_file_tail(path) if path else ("", "Docker names no log file for it")
    item.update(stdout=text, error=error, error_kind="missing" if error else None)
    return item
