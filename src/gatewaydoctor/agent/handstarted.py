"""Python web servers started by hand (nohup, screen, tmux, a shell): no manager at all.

Standard library only and read-only. A process runs a web server (formats/execspec) and
belongs to no service: its cgroup is not a systemd service's (a login session's scope, or
`/` without systemd) and no supervisord or pm2 daemon is among its ancestors. Only the
topmost server process is kept (gunicorn's workers and uvicorn's are its children). For
each: who runs it, where, with what command, its parents (how it was started), and where
its output goes (/proc/PID/fd/1 and 2: a file such as nohup.out is read; a terminal or a
pipe is named). Its environment goes to the app probe (database logins, the import) and
only its variables' names into the evidence.
"""

import os
import pwd
import re
import shlex
from typing import Any, Dict, List, Optional, Set, Tuple

from ..formats import container, execspec, sources, systemd
from .runner import Item, new_item

LOG_BYTES = 128 * 1024
LOG_LINES = 400
MAX_PARENTS = 8
MANAGERS = ("supervisord",)
MAX_ROOTS = 8
_ROOT_RE = re.compile(r"^\s*root\s+(/[^;\s$]*)\s*;", re.MULTILINE)


def _is_manager(proc: Dict[str, Any], pm2_pids: Set[int]) -> bool:
    """supervisord or a pm2 daemon: its children are its programs, not hand-started."""
    argv = [str(a) for a in proc.get("cmdline") or []]
    return proc["pid"] in pm2_pids or any(os.path.basename(a) in MANAGERS for a in argv[:2])


def _container_cgroup(cgroup: Optional[str]) -> bool:
    """A container's cgroup (docker, podman, containerd, CRI-O, Kubernetes, LXC): its runtime
    runs what is in it, with a restart policy of its own; not a server started by hand."""
    return container.container_of(cgroup) is not None


def _service_cgroup(cgroup: Optional[str]) -> bool:
    """A systemd service's cgroup (`/system.slice/api.service`, or a unit's sub-cgroup).

    `user@1000.service` is the user's own manager: a terminal multiplexer moves itself into
    a scope under it (`.../user@1000.service/tmux-spawn-<id>.scope`), still by hand."""
    return any(part.endswith(".service") and not part.startswith("user@")
               for part in (cgroup or "").split("/"))


def _link(path: str) -> Optional[str]:
    try:
        return os.readlink(path)
    except OSError:
        return None


def _user(uid: object) -> Optional[str]:
    try:
        return pwd.getpwuid(int(str(uid))).pw_name if uid is not None else None
    except (KeyError, ValueError):
        return None


def find(processes: List[Dict[str, Any]], pm2_pids: Set[int]) -> List[Dict[str, Any]]:
    """The hand-started web servers: the topmost server process of each, with its context.

    A server is a process whose command runs one (uvicorn, gunicorn...), or a Python script
    (`python app.py` calling uvicorn.run(), Flask's app.run()) that holds a listening socket.
    """
    by_pid = {p["pid"]: p for p in processes}
    kinds = {p["pid"]: execspec.server_of(execspec.process_argv(list(p.get("cmdline") or [])))
             for p in processes}
    servers = {pid for pid, kind in kinds.items() if kind not in (None, "python")}
    scripts = [pid for pid, kind in kinds.items() if kind == "python"
               and not _service_cgroup(by_pid[pid].get("cgroup"))
               and not _container_cgroup(by_pid[pid].get("cgroup"))]
    if scripts:
        listening = listening_inodes()
        servers |= {pid for pid in scripts
                    if listening & set(by_pid[pid].get("socket_inodes") or ())}
    out = []
    own_net = _link("/proc/self/ns/net")
    for pid in sorted(servers):
        proc = by_pid[pid]
        if own_net and _link(f"/proc/{pid}/ns/net") not in (own_net, None):
            continue  # another network namespace (a container, `ip netns exec`): its
            # addresses are not this host's
        if _service_cgroup(proc.get("cgroup")) or _container_cgroup(proc.get("cgroup")):
            continue  # systemd runs it (supervisor's programs are in its unit too), or a
            # container runtime does
        parents = _parents(proc, by_pid)
        if any(p["pid"] in servers for p in parents):
            continue  # a worker of a server already counted
        if any(_is_manager(p, pm2_pids) for p in parents):
            continue  # a program of supervisord or an app of pm2
        out.append(_record(proc, parents))
    return out


def _parents(proc: Dict[str, Any], by_pid: Dict[int, Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Its ancestors, nearest first, up to (not including) PID 1."""
    chain: List[Dict[str, Any]] = []
    ppid = proc.get("ppid")
    while ppid and ppid != 1 and ppid in by_pid and len(chain) < MAX_PARENTS:
        chain.append(by_pid[ppid])
        ppid = by_pid[ppid].get("ppid")
    return chain


def _record(proc: Dict[str, Any], parents: List[Dict[str, Any]]) -> Dict[str, Any]:
    pid = proc["pid"]
    return {
        "pid": pid, "ppid": proc.get("ppid"), "uid": proc.get("uid"),
        "user": _user(proc.get("uid")), "cwd": proc.get("cwd"),
        "argv": list(proc.get("cmdline") or []), "cgroup": proc.get("cgroup"),
        "start_time": proc.get("start_time"),
        "parents": [{"pid": p["pid"], "comm": p.get("comm"),
                     "argv": list(p.get("cmdline") or [])[:4]} for p in parents],
        "stdout": _link(f"/proc/{pid}/fd/1"), "stderr": _link(f"/proc/{pid}/fd/2"),
    }


def probe_props(proc: Dict[str, Any]) -> Tuple[Dict[str, str], List[str]]:
    """Its unit-like properties for the app probe (its command, folder, user and the
    environment it runs with), and the names of that environment's variables: the values
    go to the probe only, never into the evidence."""
    try:
        with open(f"/proc/{proc['pid']}/environ", "rb") as fh:
            raw = fh.read(1 << 20).split(b"\0")
    except OSError:
        raw = []
    env = dict(v.decode("utf-8", "replace").partition("=")[::2] for v in raw if b"=" in v)
    argv = execspec.process_argv([str(a) for a in proc.get("argv") or []])
    return ({"ExecStart": systemd.join_argv(argv), "WorkingDirectory": proc.get("cwd") or "",
             "User": proc.get("user") or "",
             "Environment": " ".join(shlex.quote(f"{k}={v}") for k, v in sorted(env.items())
                                     if k and "\n" not in v)}, sorted(env))


def listing(source: str, found: List[Dict[str, Any]]) -> Item:
    """The hand-started servers found, as evidence."""
    return new_item(source, "listing", path="/proc", data={"processes": found})


def log_paths(found: List[Dict[str, Any]]) -> List[Tuple[str, str]]:
    """(source, path) of each regular file a hand-started server writes its output to."""
    out = []
    for proc in found:
        seen = set()
        for stream in ("stdout", "stderr"):
            target = proc.get(stream) or ""
            if _is_file(target) and target not in seen:
                seen.add(target)
                out.append((sources.hand_output(int(proc["pid"]), stream), target))
    return out


def _is_file(target: str) -> bool:
    """A path on a filesystem (not a terminal, pipe, socket or /dev/null)."""
    return target.startswith("/") and not target.startswith(("/dev/", "/proc/")) \
        and not target.endswith(" (deleted)")


def listening_inodes() -> Set[int]:
    """The inodes of this network namespace's listening sockets (TCP and unix), from /proc."""
    found: Set[int] = set()
    for table in ("tcp", "tcp6", "unix"):
        try:
            with open(f"/proc/net/{table}", encoding="ascii", errors="replace") as fh:
                rows = [line.split() for line in fh.read(8 << 20).splitlines()[1:]]
        except OSError:
            continue
        if table == "unix":
            # Flags 00010000 (__SO_ACCEPTCON): a listening unix socket.
            found |= {int(f[6]) for f in rows if len(f) >= 7 and int(f[3], 16) & 0x10000}
        else:
            found |= {int(f[9]) for f in rows if len(f) >= 10 and f[3] == "0A"}
    return found


def nohup_in_roots(dump: str) -> List[Tuple[str, str]]:
    """(folder, nohup.out) for each server block `root` of an `nginx -T` dump holding one:
    a panel's site folder, where its app is started by hand from."""
    roots = list(dict.fromkeys(m.group(1).rstrip("/") or "/" for m in _ROOT_RE.finditer(dump)))
    return [(root, os.path.join(root, "nohup.out")) for root in roots[:MAX_ROOTS]
            if os.path.isfile(os.path.join(root, "nohup.out"))]
