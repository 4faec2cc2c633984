"""What the agent needs of nginx's configuration (which logs to tail, what to probe) and
what the running nginx looks like.

The dump is read with the tolerant reader of formats/nginx.py: never exact, never giving up.
"""

import contextlib
import glob
import ipaddress
import mmap
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterator, List, Match, Optional, Set, Tuple

from ..formats import sources
from ..formats.nginx import FILE_MARK, children, proxy_endpoints, split_dump, tree
from ..formats.systemd import exec_argvs
from . import procfs, sockdiag
from .runner import Item, new_item, run, which

Directive = Dict[str, Any]

def _scan_locations(trees: Dict[str, List[Directive]], file: str, block: List[Directive],
                    main: str, out: List[Dict[str, Any]]) -> None:
    for f, d in children(trees, file, block, main):
        if d["directive"] == "location":
            inner = d.get("block", [])
            proxy = next((c["args"][0] for _f, c in children(trees, f, inner, main)
                          if c["directive"] == "proxy_pass" and c["args"]), None)
            out.append({"path": " ".join(d["args"]), "proxy_pass": proxy})
            _scan_locations(trees, f, inner, main, out)


def scan(dump: str) -> Dict[str, Any]:
    """Return servers (listen, server_name, locations with proxy_pass), upstreams, log paths."""
    files = split_dump(dump) or [("", dump)]
    trees = {path: tree(content) for path, content in files}
    main = files[0][0]
    servers: List[Dict[str, Any]] = []
    upstreams: Dict[str, List[str]] = {}
    user: List[str] = []

    def visit(file: str, block: List[Directive], ctx: Tuple[str, ...]) -> None:
        for f, d in children(trees, file, block, main, frozenset({main})):
            name, inner = d["directive"], d.get("block")
            if name == "user" and not ctx and d["args"]:
                user[:] = d["args"]
            if inner is None:
                continue
            if name == "upstream" and d["args"]:
                upstreams[d["args"][0]] = [c["args"][0] for _f, c in children(trees, f, inner, main)
                                           if c["directive"] == "server" and c["args"]]
            elif name == "server" and ctx and ctx[-1] == "http":
                kids = list(children(trees, f, inner, main))
                server: Dict[str, Any] = {
                    "listen": [" ".join(c["args"]) for _f, c in kids
                               if c["directive"] == "listen" and c["args"]],
                    "server_name": [a for _f, c in kids if c["directive"] == "server_name"
                                    for a in c["args"]],
                    "locations": [],
                }
                direct = next((c["args"][0] for _f, c in kids
                               if c["directive"] == "proxy_pass" and c["args"]), None)
                if direct:
                    server["locations"].append({"path": "", "proxy_pass": direct})
                _scan_locations(trees, f, inner, main, server["locations"])
                servers.append(server)
            else:
                visit(f, inner, (*ctx, name))

    visit(main, trees[main], ())
    error_logs: List[str] = []
    access_logs: List[str] = []
    for content in trees.values():
        for d in _flatten(content):
            if d["directive"] == "error_log" and d["args"]:
                error_logs.append(d["args"][0])
            elif d["directive"] == "access_log" and d["args"]:
                access_logs.append(d["args"][0])
    return {
        "servers": servers,
        "upstreams": upstreams,
        "error_logs": _dedupe(error_logs),
        "access_logs": _dedupe(access_logs),
        "user": user,
    }


def _flatten(block: List[Directive]) -> Iterator[Directive]:
    for d in block:
        yield d
        yield from _flatten(d.get("block") or [])


def _dedupe(items: List[str]) -> List[str]:
    return list(dict.fromkeys(items))


def read_config_files(main: str, *, max_files: int = 200, max_bytes: int = 1 << 20) -> str:
    """Read main and the files it includes into `nginx -T` format (used when -T fails)."""
    out: List[str] = []
    seen: Set[str] = set()
    queue = [main]
    while queue and len(seen) < max_files:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                content = fh.read(max_bytes)
        except OSError:
            continue
        out.append(f"{FILE_MARK}{path}:\n{content}\n")
        for d in _flatten(tree(content)):
            if d["directive"] == "include" and d["args"]:
                pattern = d["args"][0]
                if not pattern.startswith("/"):
                    pattern = os.path.join(os.path.dirname(main), pattern)
                queue.extend(sorted(glob.glob(pattern)))
    return "".join(out)


def conf_path(version_text: str, master: Optional[Dict[str, Any]] = None) -> str:
    """The main config file: the master's -c (relative to its prefix, as nginx resolves it),
    else the --conf-path from `nginx -V` output, else the usual default."""
    conf = (master or {}).get("conf")
    if conf:
        if conf.startswith("/"):
            return str(conf)
        m = re.search(r"--prefix=(\S+)", version_text)
        prefix = (master or {}).get("prefix") or (m.group(1) if m else "/usr/local/nginx")
        return os.path.join(prefix, conf)
    m = re.search(r"--conf-path=(\S+)", version_text)
    return m.group(1) if m else "/etc/nginx/nginx.conf"


# --- the running masters: which binary, with which -c/-p/-g/-e, so -T reads what runs

MASTER_TITLE = "nginx: master process "
# nginx's own options; with the title's argv joined by spaces, -g's value runs to the next.
_OPTION = re.compile(r"-[?hvVtTqspecg]")
_VALUED = {"-c": "conf", "-p": "prefix", "-g": "globals", "-e": "error_log"}


def parse_master(cmdline: str) -> Optional[Dict[str, Any]]:
    """Binary and -c/-p/-g/-e from a master's title (`nginx: master process BIN [opts]`)."""
    text = cmdline.replace("\0", " ").strip()
    if not text.startswith(MASTER_TITLE):
        return None
    return parse_argv(text[len(MASTER_TITLE):].split())


def parse_argv(tokens: List[str]) -> Optional[Dict[str, Any]]:
    """Binary and -c/-p/-g/-e from nginx's argv (a title's words, or a unit's ExecStart)."""
    if not tokens:
        return None
    out: Dict[str, Any] = {"binary": tokens[0], "conf": None, "prefix": None,
                           "globals": None, "error_log": None}
    i = 1
    while i < len(tokens):
        flag, value = tokens[i][:2], tokens[i][2:]
        i += 1
        if flag not in _VALUED:
            continue
        parts = [value] if value else []
        while i < len(tokens) and (not parts or flag == "-g") and not _OPTION.match(tokens[i]):
            parts.append(tokens[i])
            i += 1
        out[_VALUED[flag]] = " ".join(parts) or None
    return out


def from_units(units: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """With no master running, the nginx its units would start (ExecStart running nginx or
    openresty, with their -c/-p/-g): enabled units first (`systemctl enable` links them
    into a *.wants or *.requires folder), so a failed custom unit beats the package's
    disabled nginx.service."""
    found = []
    for unit in units:
        if unit.get("masked"):
            continue
        for line in unit.get("exec_start", []):
            for argv in exec_argvs(line):
                if os.path.basename(argv[0]) not in ("nginx", "openresty"):
                    continue
                parsed = parse_argv(argv)
                if parsed is None:
                    continue
                name = unit["name"]
                enabled = any(glob.glob(f"/etc/systemd/system/*.{kind}/{glob.escape(name)}")
                              for kind in ("wants", "requires"))
                parsed.update(pid=None, cmdline=" ".join(argv), unit=name, enabled=enabled,
                              path=argv[0] if _executable(argv[0]) else None)
                found.append(parsed)
                break
    return sorted(found, key=lambda m: not m["enabled"])


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _binary(pid: int, named: str, root: Optional[str] = None) -> Optional[str]:
    """The master's binary: the title's path if absolute, else what /proc/PID/exe points at
    (a relative or bare name in the title depends on a cwd and PATH we do not share); in a
    container, the path as the container sees it."""
    inside = root or ""
    if named.startswith("/") and _executable(inside + named):
        return named
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        exe = ""
    if exe and not exe.endswith(" (deleted)") and _executable(inside + exe):
        return exe
    if "/" in named:
        with contextlib.suppress(OSError):
            full = os.path.join(os.readlink(f"/proc/{pid}/cwd"), named)
            if _executable(full):
                return full
    return None


# A binary is nginx when it is named so (OpenResty's bin/openresty, Tengine, Angie; not
# nginx-prometheus-exporter) or holds both the banner `nginx -v` prints and the -T line of
# its usage (a copy under another name): read, never run (running an unknown listener's
# binary with -V or -T could do anything).
_NAME = re.compile(r"(?:nginx|openresty|tengine|angie)(?:[-_.]?debug)?", re.I)
_BANNER = re.compile(rb"(?:nginx|Tengine|Angie) version: ")
_USAGE_T = b"test configuration, dump it and exit"
MAX_BINARY = 64 << 20
MAX_MASTERS = 8
DUMP_TIMEOUT = 10.0
DELETED = " (deleted)"  # what /proc/PID/exe ends with once the binary was replaced
_identity: Dict[str, bool] = {}


def is_nginx_binary(exe: Optional[str], root: Optional[str] = None) -> bool:
    """Tell whether an executable is nginx (OpenResty, Tengine): by its name, else by the
    version banner compiled into it (cached per path; under `root` for a container's)."""
    if not exe:
        return False
    path = exe[:-len(DELETED)] if exe.endswith(DELETED) else exe
    if _NAME.fullmatch(os.path.basename(path)):
        return True
    path = (root or "") + path
    if path not in _identity:
        _identity[path] = _holds_banner(path)
    return _identity[path]


def _holds_banner(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if not 0 < size <= MAX_BINARY:
                return False
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return _BANNER.search(data) is not None and data.find(_USAGE_T) >= 0
    except (OSError, ValueError):
        return False


def _title(proc: Dict[str, Any]) -> str:
    cmdline = proc.get("cmdline") or []
    return (" ".join(cmdline) if isinstance(cmdline, list) else str(cmdline)).strip()


def _nginx_like(proc: Optional[Dict[str, Any]]) -> bool:
    """An nginx process: nginx's own title (`nginx: ...`) or an nginx binary."""
    if proc is None:
        return False
    return _title(proc).startswith("nginx: ") or is_nginx_binary(proc.get("exe"))


def masters_from(processes: List[Dict[str, Any]], sockets: List[Dict[str, Any]],
                 mntns: Optional[str] = None, netns: Optional[str] = None) -> List[Dict[str, Any]]:
    """Every nginx master in a process table (procfs.processes' records) with the listening
    TCP sockets (sock_diag's) it holds, lowest pid first.

    A master by its title (`nginx: master process ...`), or by what it holds: an nginx
    binary holding a listening socket whose parent is no nginx (workers hold the same
    sockets) is a master whatever its title says (`master_process off`, a title rewritten).
    One in a mount namespace other than `mntns` (ours) runs in a container: its paths are
    under /proc/PID/root; one in a network namespace other than `netns` (ours: a
    container's, PrivateNetwork=) has a 127.0.0.1 of its own.
    """
    listening = {int(s["inode"]): s for s in sockets if s.get("inode")}
    by_pid = {int(p["pid"]): p for p in processes}
    children: Dict[int, List[Dict[str, Any]]] = {}
    for p in processes:
        if p.get("ppid") is not None:
            children.setdefault(int(p["ppid"]), []).append(p)
    out: List[Dict[str, Any]] = []
    for pid, proc in sorted(by_pid.items()):
        title = _title(proc)
        held = [listening[i] for i in proc.get("socket_inodes") or () if i in listening]
        theirs = proc.get("mntns")
        root = f"/proc/{pid}/root" if mntns and theirs and theirs != mntns else None
        if title.startswith(MASTER_TITLE):
            parsed, found_by = parse_master(title), "title"
        elif held and not title.startswith("nginx: ") and \
                is_nginx_binary(proc.get("exe"), root) and \
                not _nginx_like(by_pid.get(int(proc.get("ppid") or 0))):
            parsed, found_by = parse_argv(list(proc.get("cmdline") or [])), "sockets"
        else:
            continue
        if parsed is None:
            continue
        if not held:  # its own fds unreadable: its workers hold the same sockets
            held = [listening[i] for c in children.get(pid, ())
                    for i in c.get("socket_inodes") or () if i in listening]
        parsed.update(pid=pid, cmdline=title, path=_binary(pid, parsed["binary"], root),
                      root=root, netns=bool(netns and proc.get("netns") and
                                            proc["netns"] != netns), exe=proc.get("exe"),
                      found_by=found_by, ports=_ports(held))
        out.append(parsed)
    return out


def _ports(held: List[Dict[str, Any]]) -> List[str]:
    """Listening addresses, as `host:port` (`[::]:443`), once each, sorted by port."""
    seen = {(int(s["port"]), f"[{s['host']}]" if ":" in str(s["host"]) else str(s["host"]))
            for s in held}
    return [f"{host}:{port}" for port, host in sorted(seen)]


def port_of(address: str) -> Optional[int]:
    """The port of `host:port`."""
    tail = address.rpartition(":")[2]
    return int(tail) if tail.isdigit() else None


def proc_net_listeners(table: Optional[str]) -> List[Dict[str, Any]]:
    """Listening sockets (host, port, inode) from a /proc/net/tcp{,6} table, where
    sock_diag is not there."""
    out = []
    for line in (table or "").splitlines()[1:]:
        f = line.split()
        if len(f) < 10 or f[3] != "0A" or ":" not in f[1] or not f[9].isdigit():
            continue
        raw, _, port = f[1].partition(":")
        try:
            packed = bytes.fromhex(raw)
            # The kernel prints each 32-bit word in host (little-endian) order.
            addr = b"".join(packed[i:i + 4][::-1] for i in range(0, len(packed), 4))
            host = str(ipaddress.ip_address(addr))
        except ValueError:
            continue
        out.append({"host": host, "port": int(port, 16), "inode": int(f[9])})
    return out


def masters() -> List[Dict[str, Any]]:
    """Every running nginx master (OpenResty's too, whatever its comm or title), lowest pid
    first; each with the listening sockets it holds."""
    table = procfs.processes().get("data") or {}
    listeners = sockdiag.tcp_listeners()
    return masters_from(table.get("processes", []),
                        (listeners.get("data") or {}).get("sockets", []), table.get("mntns"),
                        table.get("netns"))


def chosen(found: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The master whose configuration is read: the first one whose binary could be found."""
    return next((m for m in found if m.get("path")), None)


Served = Dict[int, Tuple[Set[int], Set[str]]]  # by pid: the ports and names a config serves


def serving(found: List[Dict[str, Any]], port: Optional[int], served: Optional[Served] = None,
            host: Optional[str] = None) -> Tuple[Optional[Dict[str, Any]], str]:
    """The master that serves a request, with why: the one listening on the URL's port
    (without a URL: 80, then 443), where several do, the one whose configuration names the
    URL's host; where its sockets could not be read, the ports its configuration listens on
    (`served`, by pid). Else the one whose configuration names the host (a CDN or load
    balancer in front may forward to another port), else the first whose binary is known."""
    runnable = [m for m in found if m.get("path")]
    served = served or {}

    def names_host(m: Dict[str, Any]) -> bool:
        return bool(host) and any(_name_matches(n, str(host))
                                  for n in served.get(m.get("pid") or 0, (set(), set()))[1])

    for want in [port] if port else [80, 443]:
        on = [m for m in runnable if want in {port_of(a) for a in m.get("ports") or ()}]
        if on:
            return next((m for m in on if names_host(m)), on[0]), f"listens on port {want}"
        for m in runnable:
            if not m.get("ports") and want in served.get(m.get("pid") or 0, (set(), set()))[0]:
                return m, f"its configuration listens on port {want}"
    named = next((m for m in runnable if names_host(m)), None)
    if named is not None:
        return named, f"its configuration serves {host}"
    first = chosen(found)
    if first is None:
        return None, "no running master" if not found else "no master's binary could be found"
    return first, ("the only master" if len(found) == 1
                   else "the first master (none listens on the port asked)")


def _name_matches(name: str, host: str) -> bool:
    """nginx's server_name forms, exact and wildcard (`*.example.com`, `.example.com`)."""
    name, host = name.lower(), host.lower()
    if name.startswith("*."):
        return host.endswith(name[1:])
    if name.startswith("."):
        return host == name[1:] or host.endswith(name)
    return host == name


def command(master: Optional[Dict[str, Any]]) -> List[str]:
    """argv to run nginx as that master was started (binary, -p, -c, -g, -e), before the flag;
    without a master, the `nginx` on PATH with its default configuration."""
    if master is None:
        return [which("nginx") or "nginx"]
    argv = [str(master["path"])]
    if master.get("root") and master.get("pid"):
        # In a container: its own binary reads its own files, in its mount namespace.
        argv = [which("nsenter") or "nsenter", "-t", str(master["pid"]), "-m", "--", *argv]
    for flag, key in (("-p", "prefix"), ("-c", "conf"), ("-e", "error_log"), ("-g", "globals")):
        if master.get(key):
            argv += [flag, str(master[key])]
    return argv


SUMMARY = ("pid", "cmdline", "path", "conf", "prefix", "globals", "error_log", "unit",
           "root", "netns", "ports", "found_by")


def summary(master: Dict[str, Any]) -> Dict[str, Any]:
    """What an item records of a master."""
    return {k: master.get(k) for k in SUMMARY}


def dump(source: str, found: List[Dict[str, Any]],
         master: Optional[Dict[str, Any]] = None) -> Item:
    """`nginx -T` as the running master would read its configuration; data says which
    (`master`: the chosen one unless given)."""
    if master is None:
        master = chosen(found)
    item = run(source, [*command(master), "-T"], timeout=DUMP_TIMEOUT)
    item["data"] = {"master": None if master is None else summary(master),
                    "masters": [m["pid"] for m in found if m.get("pid")]}
    return item


def dumps(source: str, found: List[Dict[str, Any]], port: Optional[int],
          host: Optional[str] = None) -> List[Item]:
    """`nginx -T` of every master with its own binary and flags, in parallel: the one that
    serves `port` and `host` (see serving()) under `source`, each other under its pid's
    key."""
    runnable = [m for m in found if m.get("path")][:MAX_MASTERS]
    if len(runnable) <= 1:
        master, why = serving(found, port, host=host)
        items = [dump(source, found, master)]
        items[0]["data"]["serving"] = why
    else:
        with ThreadPoolExecutor(len(runnable), thread_name_prefix="gatewaydoctor-nginx") as pool:
            ran = list(pool.map(lambda m: dump(source, found, m), runnable))
        # (pool.map gives one dump per master, in their order)
        served = {int(m["pid"]): _served(ran[k]) for k, m in enumerate(runnable)
                  if m.get("pid") is not None}
        master, why = serving(found, port, served, host)
        items = sorted(ran, key=lambda i: i["data"]["master"]["pid"] != (master or {}).get("pid"))
        items[0]["data"]["serving"] = why
        for item in items[1:]:
            item["source"] = sources.nginx_master_dump(int(item["data"]["master"]["pid"]))
    main = items[0]
    main["data"]["others"] = [summary(m) for m in found
                              if m.get("pid") != (main["data"]["master"] or {}).get("pid")]
    for m in main["data"]["others"]:
        m["source"] = (sources.nginx_master_dump(int(m["pid"])) if m["pid"] is not None and
                       any(i["source"] == sources.nginx_master_dump(int(m["pid"]))
                           for i in items) else None)
    return items


def _served(item: Item) -> Tuple[Set[int], Set[str]]:
    """The ports a dumped configuration's server blocks listen on, and the names they serve."""
    ports: Set[int] = set()
    names: Set[str] = set()
    if item.get("rc") != 0 or not item.get("stdout"):
        return ports, names
    for server in scan(item["stdout"])["servers"]:
        names.update(server["server_name"])
        for listen in server["listen"] or ["80"]:
            word = listen.split()[0]
            tail = word.rpartition(":")[2]
            if word.startswith("unix:"):
                continue
            # `listen 8080`, `listen [::]:443`; an address alone is port 80.
            ports.add(int(word) if word.isdigit() else
                      int(tail) if ":" in word and tail.isdigit() else 80)
    return ports, names


_ASSIGN = re.compile(r"^\s*(?:export\s+)?([A-Za-z_]\w*)=[\"']?([^\"'\s;#]*)", re.M)
_VAR = re.compile(r"\$\{?([A-Za-z_]\w*)\}?")
_NGINX_PATH = re.compile(r"(/[\w./-]*/(?:nginx|openresty))(?=[\s\"';]|$)")
_CONF_PATH = re.compile(r"(?:-c\s+|=)[\"']?(/[\w./-]+\.conf)")


def would_start(units: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """With no master running, the nginx this host would start: an enabled unit's, else an
    init script's (panels install their own), else a unit's that is not enabled."""
    by_units = from_units(units)
    return [m for m in by_units if m["enabled"]] or from_init_scripts() or by_units


def _expand(script: str) -> str:
    """A shell script with its plain `VAR=value` assignments substituted ($VAR, ${VAR})."""
    values: Dict[str, str] = {}

    def value_of(m: Match[str]) -> str:
        return values.get(m.group(1), m.group(0))

    for var, value in _ASSIGN.findall(script):
        values.setdefault(var, _VAR.sub(value_of, value))
    return _VAR.sub(value_of, script)


def from_init_scripts(folder: str = "/etc/init.d") -> List[Dict[str, Any]]:
    """With no master running and no unit starting nginx, the nginx a SysV init script would
    start (panels such as Baota install /etc/init.d/nginx with their own binary and -c):
    the script's variables are expanded (`NGINX_BIN=/www/server/nginx/sbin/$NAME`), then
    the first executable named nginx/openresty and the first *.conf it is given."""
    found = []
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    for name in names:
        text = _read(os.path.join(folder, name)) if "nginx" in name or "openresty" in name \
            else None
        if not text:
            continue
        expanded = _expand("\n".join(line for line in text.splitlines()
                                     if not line.lstrip().startswith("#")))
        binary = next((b for b in _NGINX_PATH.findall(expanded)
                       if _executable(b) and not b.startswith(folder + "/")), None)
        if binary is None:
            continue
        conf = _CONF_PATH.search(expanded)
        found.append({"binary": binary, "path": binary, "conf": conf.group(1) if conf else None,
                      "prefix": None, "globals": None, "error_log": None, "pid": None,
                      "cmdline": os.path.join(folder, name), "unit": None})
    return found


# --- the running nginx: processes, when they started, and the files they were started from

def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(65536)
    except OSError:
        return None


def _boot_time() -> Optional[float]:
    """Boot time to the hundredth of a second (/proc/stat's btime is whole seconds)."""
    uptime = _read("/proc/uptime")
    if not uptime:
        return None
    return time.time() - float(uptime.split()[0])


def _nginx_processes(master: Optional[int] = None) -> Tuple[List[Dict[str, Any]], Optional[str]]:
    """nginx's processes; with the serving master's pid, that master and its children only
    (another master's workers did not read this configuration)."""
    btime = _boot_time()
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError as exc:
        return [], f"cannot list /proc: {exc.strerror}"
    out: List[Dict[str, Any]] = []
    for pid in pids:
        stat = _read(f"/proc/{pid}/stat")
        if not stat:
            continue
        head, _, tail = stat.rpartition(")")
        cmdline = (_read(f"/proc/{pid}/cmdline") or "").replace("\0", " ").strip()
        # OpenResty started as bin/openresty has that comm; its title still says nginx.
        if head.partition("(")[2] != "nginx" and not cmdline.startswith("nginx: ") and \
                int(pid) != master:
            continue
        fields = tail.split()
        ppid = int(fields[1]) if len(fields) > 1 else None
        if master is not None and master not in (int(pid), ppid):
            continue
        ids: Dict[str, List[int]] = {}
        for line in (_read(f"/proc/{pid}/status") or "").splitlines():
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                ids[key] = [int(v) for v in value.split() if v.isdigit()]
        start = int(fields[19]) if len(fields) > 19 else None
        out.append({
            "pid": int(pid),
            "ppid": ppid,
            "role": ("master" if "master process" in cmdline or int(pid) == master else
                     "worker" if "worker process" in cmdline else "other"),
            "cmdline": cmdline,
            "start_time": round(btime + start / ticks, 3) if btime and start is not None else None,
            "uid": ids["Uid"][0] if ids.get("Uid") else None,
            "gid": ids["Gid"][0] if ids.get("Gid") else None,
            "groups": ids.get("Groups", []),
        })
    out.sort(key=lambda p: p["pid"])
    return out, None


def _stat(path: str) -> Dict[str, Any]:
    import grp
    import pwd
    import stat

    try:
        st = os.lstat(path)
    except OSError as exc:
        return {"path": path, "error": f"[Errno {exc.errno}] {exc.strerror}"}
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    kind = ("socket" if stat.S_ISSOCK(st.st_mode) else "dir" if stat.S_ISDIR(st.st_mode)
            else "symlink" if stat.S_ISLNK(st.st_mode) else "file")
    return {"path": path, "type": kind, "mode": stat.S_IMODE(st.st_mode), "uid": st.st_uid,
            "gid": st.st_gid, "owner": owner, "group": group, "mtime": st.st_mtime}


def _user(names: List[str]) -> Dict[str, Any]:
    """Resolve nginx's `user` (and group) to ids and the groups the user is in."""
    import grp
    import pwd

    name = names[0] if names else "nobody"
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        return {"name": name, "error": f"no user {name!r} in the password database"}
    gids = {pw.pw_gid} | {g.gr_gid for g in grp.getgrall() if name in g.gr_mem}
    if len(names) > 1:
        with contextlib.suppress(KeyError):
            gids.add(grp.getgrnam(names[1]).gr_gid)
    return {"name": name, "configured": bool(names), "uid": pw.pw_uid, "gid": pw.pw_gid,
            "groups": sorted(gids)}


def runtime(source: str, dump: str, scanned: Dict[str, Any], master: Optional[int] = None) -> Item:
    """Record nginx's processes (the serving master's, when its pid is given) and start
    times, the config files' mtimes, and for each unix socket upstream the mode and owner
    of the socket and of every directory above it."""
    item = new_item(source, "listing")
    started = time.monotonic()
    procs, error = _nginx_processes(master)
    files = []
    for path, _content in split_dump(dump):
        entry: Dict[str, Any] = {"path": path}
        try:
            entry["mtime"] = os.stat(path).st_mtime
            entry["lmtime"] = os.lstat(path).st_mtime
        except OSError as exc:
            entry["error"] = f"[Errno {exc.errno}] {exc.strerror}"
        files.append(entry)
    sockets = []
    for server in scanned.get("servers", []):
        for loc in server["locations"]:
            for ep in proxy_endpoints(loc["proxy_pass"] or "", scanned.get("upstreams", {})):
                if ep.startswith("unix:") and ep[5:] not in sockets:
                    sockets.append(ep[5:])
    paths = []
    for sock in sockets[:8]:
        chain = [sock]
        parent = os.path.dirname(sock)
        while parent and parent not in chain:
            chain.append(parent)
            if parent == "/":
                break
            parent = os.path.dirname(parent)
        paths.append({"socket": sock, "chain": [_stat(p) for p in chain]})
    item["data"] = {"now": time.time(), "processes": procs, "process_error": error,
                    "files": files, "user": _user(list(scanned.get("user") or [])),
                    "sockets": paths}
    item["duration"] = round(time.monotonic() - started, 4)
    return item
