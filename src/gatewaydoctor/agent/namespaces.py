"""Other network namespaces and the containers processes run in (standard library only).

A container (Docker, Podman, containerd, LXC) or a unit with PrivateNetwork= has a network
namespace of its own: its 127.0.0.1 is not the host's. nginx in one and the app in another
is Docker's most common 502. The listening sockets of each namespace other than the
agent's are read from /proc/<a pid in it>/net/tcp{,6} (LISTEN lines only); each container
is named from what runs it: podman's `conmon -c ID -n NAME -l k8s-file:LOG` above its
processes, Docker's `config.v2.json` in the data root its daemon was started with.
"""

import json
import os
import time
from typing import Any, Dict, List, Optional

from ..formats import container, sources
from .runner import Item, new_item

MAX_NAMESPACES = 64
MAX_TABLE_BYTES = 4 << 20
MAX_PARENTS = 6
TCP_LISTEN_STATE = "0A"
DOCKER_ROOT = "/var/lib/docker"  # dockerd's own default for --data-root


def _read(path: str, limit: int = MAX_TABLE_BYTES) -> Optional[str]:
    try:
        with open(path, "rb") as fh:
            return fh.read(limit).decode("utf-8", "replace")
    except OSError:
        return None


def _listen_lines(text: Optional[str]) -> Optional[str]:
    """The header and LISTEN lines of a /proc/net/tcp table (established ones can be many)."""
    if text is None:
        return None
    lines = text.splitlines()
    keep = [ln for ln in lines[1:] if len(ln.split()) > 3 and ln.split()[3] == TCP_LISTEN_STATE]
    return "\n".join(lines[:1] + keep) + "\n"


def _flag(argv: List[str], *names: str) -> Optional[str]:
    """The value of the first of names in argv (`-n NAME`, `--name NAME`, `--name=NAME`)."""
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(name + "=") and name.startswith("--"):
                return arg[len(name) + 1:]
    return None


def docker_root(processes: List[Dict[str, Any]]) -> str:
    """dockerd's data root: its --data-root, else daemon.json's, else its default."""
    for p in processes:
        argv = [str(a) for a in p.get("cmdline") or []]
        if argv and os.path.basename(argv[0]) == "dockerd":
            root = _flag(argv, "--data-root", "-g")
            if root:
                return root
            conf = _flag(argv, "--config-file")
            try:
                with open(conf or "/etc/docker/daemon.json", encoding="utf-8") as fh:
                    return str(json.load(fh).get("data-root") or DOCKER_ROOT)
            except (OSError, ValueError, AttributeError):
                return DOCKER_ROOT
    return DOCKER_ROOT


def _docker_names(cid: str, root: str) -> Dict[str, Any]:
    try:
        with open(os.path.join(root, "containers", cid, "config.v2.json"),
                  encoding="utf-8") as fh:
            conf = json.load(fh)
    except (OSError, ValueError):
        return {}
    return {"name": str(conf.get("Name") or "").lstrip("/") or None, "log": conf.get("LogPath")}


def _from_monitor(pid: int, by_pid: Dict[int, Dict[str, Any]], cid: str) -> Dict[str, Any]:
    """Name and log from the monitor above the container (podman's conmon: -c ID -n NAME)."""
    seen = by_pid.get(pid)
    for _ in range(MAX_PARENTS):
        seen = by_pid.get(seen.get("ppid") or 0) if seen else None
        if seen is None:
            return {}
        argv = [str(a) for a in seen.get("cmdline") or []]
        if argv and os.path.basename(argv[0]) == "conmon" and _flag(argv, "-c", "--cid") == cid:
            log = _flag(argv, "-l", "--log-path") or ""
            return {"name": _flag(argv, "-n", "--name"),
                    "log": log.split(":", 1)[-1] if log else None}
    return {}


def _containers(processes: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    by_pid = {p["pid"]: p for p in processes}
    found: Dict[str, Dict[str, Any]] = {}
    root = None
    for p in processes:
        runtime_id = container.container_of(p.get("cgroup"))
        if runtime_id is None:
            continue
        runtime, cid = runtime_id
        entry = found.get(cid)
        if entry is None:
            entry = found[cid] = {"runtime": runtime, "id": cid, "name": None, "log": None,
                                  "pids": [], "netns": p.get("netns"), "mntns": p.get("mntns")}
            named = _from_monitor(p["pid"], by_pid, cid)
            if not named and runtime == "docker":
                root = root or docker_root(processes)
                named = _docker_names(cid, root)
            entry.update({k: v for k, v in named.items() if v})
        entry["pids"].append(p["pid"])
    return sorted(found.values(), key=lambda c: c["pids"][0])


def _namespaces(processes: List[Dict[str, Any]], own: Optional[str]) -> List[Dict[str, Any]]:
    first: Dict[str, int] = {}
    for p in processes:
        ns = p.get("netns")
        if ns and ns != own and ns not in first:
            first[ns] = p["pid"]
    out = []
    for ns, pid in sorted(first.items(), key=lambda kv: kv[1])[:MAX_NAMESPACES]:
        tables = {t: _listen_lines(_read(f"/proc/{pid}/net/{t}")) for t in sources.TCP_TABLES}
        out.append({"netns": ns, "pid": pid, "tables": tables})
    return out


def scan(source: str, listing: Optional[Dict[str, Any]]) -> Item:
    """The other network namespaces (with their listening TCP sockets) and the containers
    of the processes in the agent's process listing."""
    item = new_item(source, "listing", path="/proc/*/ns/net, /proc/*/cgroup")
    start = time.monotonic()
    processes = list((listing or {}).get("processes") or [])
    own = (listing or {}).get("netns")
    item["data"] = {"netns": own, "mntns": (listing or {}).get("mntns"),
                    "namespaces": _namespaces(processes, own),
                    "containers": _containers(processes)}
    item["duration"] = round(time.monotonic() - start, 4)
    return item
