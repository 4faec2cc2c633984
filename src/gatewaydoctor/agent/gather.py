"""Gather raw evidence on this host, concurrently, without changing anything.

Each item goes under a source key made by formats/sources.py, e.g. `nginx.dump`,
`systemd.show:api.service`, `probe.http:upstream:127.0.0.1:8000/health`.
"""

import contextlib
import functools
import os
import socket
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any, Callable, Dict, FrozenSet, List, Optional, Set, Tuple, Union

from ..formats import execspec, sources, systemd
from ..formats.endpoint import split_hostport
from . import (
    appprobe,
    containers,
    dbprobe,
    dbunits,
    firewall,
    handstarted,
    namespaces,
    nginxscan,
    nsprobe,
    pm2,
    probes,
    procfs,
    pyapp,
    sockdiag,
    sysinfo,
    unitscan,
)
from . import files as fsinfo
from . import supervisor as supervisord
from . import uwsgi as uwsgi_agent
from .runner import Item, journal, new_item, read_file, read_tail, run

if TYPE_CHECKING:  # (concurrent.futures.Future takes no [...] at run time before 3.9)
    Pending = Future[Optional[Item]]  # novermin (never run: vermin does not know that)

SCHEMA = "gatewaydoctor.evidence/1"
TOOL_VERSION = "0.1.0"
JOURNAL_LINES = 400
JOURNAL_SINCE = "-24h"
# The kernel log: a recent window at priority warning and above (OOM kills, firewall logs).
KERNEL_SINCE = "-6h"
KERNEL_LINES = 100
MAX_PROBE_SERVERS = 6
MAX_UPSTREAMS = 8
WORKERS = 24
URL_PROBE_TIMEOUT = 8.0


ERROR_LOG_LINES = 2000
ACCESS_LOG_LINES = 500

# progress(source, done, started): what just came in, for a display on stderr.
Progress = Callable[[str, int, int], None]


def windows(
    max_log_lines: Optional[int] = None, since: Optional[str] = None
) -> Dict[str, Any]:
    """The log windows gather() uses: defaults, or every log widened/narrowed to max_log_lines."""
    w: Dict[str, Any] = {
        "journal_lines": JOURNAL_LINES,
        "journal_since": JOURNAL_SINCE,
        "error_log_lines": ERROR_LOG_LINES,
        "error_log_bytes": 256 * 1024,
        "access_log_lines": ACCESS_LOG_LINES,
        "access_log_bytes": 128 * 1024,
    }
    if max_log_lines is not None:
        n = max(1, max_log_lines)
        w.update(journal_lines=n, error_log_lines=n, access_log_lines=n,
                 error_log_bytes=max(256 * 1024, n * 512),
                 access_log_bytes=max(128 * 1024, n * 512))
    if since is not None:
        w["journal_since"] = since
    return w


class _Collector:
    """Holds the pool and the items gathered so far; one instance per gather() call."""

    def __init__(self, pool: ThreadPoolExecutor, win: Optional[Dict[str, Any]] = None,
                 progress: Optional[Progress] = None,
                 on_item: Optional[Callable[[Item], None]] = None) -> None:
        self.pool = pool
        self.windows = win or windows()
        self.items: Dict[str, Item] = {}
        self.pending: List[Pending] = []
        self.progress = progress
        self.on_item = on_item
        self.submitted = 0
        self.finished = 0

    def submit(self, fn: Any, *args: Any, **kwargs: Any) -> "Pending":
        fut: Pending = self.pool.submit(fn, *args, **kwargs)
        self.pending.append(fut)
        if self.progress is not None or self.on_item is not None:
            self.submitted += 1
            fut.add_done_callback(self._report)
        return fut

    def _report(self, fut: "Pending") -> None:
        """Hand what just came in to on_item and the progress display; their failures are
        ignored (neither may stop the gathering)."""
        self.finished += 1
        try:
            items = [] if fut.exception() else _items_of(fut.result())
            for item in items:
                if self.on_item is not None:
                    self.on_item(item)
            if self.progress is not None and items:
                self.progress(str(items[0].get("source", "")), self.finished, self.submitted)
        except Exception:  # noqa: BLE001
            pass

    def take(self, fut: "Pending") -> Optional[Item]:
        """The item a job returned (stored by source); a job may return a list of them."""
        items = _items_of(fut.result())
        for item in items:
            self.items[item["source"]] = item
        return items[0] if items else None

    def drain(self) -> None:
        while self.pending:
            self.take(self.pending.pop(0))


def _items_of(got: Optional[Union[Item, List[Item]]]) -> List[Item]:
    """What a job returned: one item, a list of items, or none."""
    return got if isinstance(got, list) else [] if got is None else [got]


def systemd_booted() -> bool:
    """Tell whether systemd is the init system (sd_booted's test)."""
    return os.path.isdir("/run/systemd/system")


def gather(
    url: Optional[str] = None, *, no_exec: bool = False, max_log_lines: Optional[int] = None,
    since: Optional[str] = None, progress: Optional[Progress] = None,
    on_item: Optional[Callable[[Item], None]] = None, busy_after: Optional[threading.Event] = None,
) -> Dict[str, Any]:
    """Collect the evidence bundle for this host as a JSON-serialisable dict.

    `progress(source, done, started)`, when given, is called (from worker threads) as each
    piece of evidence comes in; it only displays, it never changes what is gathered.
    `on_item(item)` is called likewise with each item a job returned (not with the few
    items made in place); it must not change the item. `busy_after` is set once the
    slowest probes (the app's own interpreter) are started: a caller's own CPU-heavy work
    waits for it rather than slow down the way there (one GIL, few cores).
    """
    try:
        return _gather(url, no_exec, windows(max_log_lines, since), progress, on_item,
                       busy_after)
    finally:
        if busy_after is not None:
            busy_after.set()


def _gather(url: Optional[str], no_exec: bool, win: Dict[str, Any], progress: Optional[Progress],
            on_item: Optional[Callable[[Item], None]],
            busy_after: Optional[threading.Event]) -> Dict[str, Any]:
    started = time.time()
    t0 = time.monotonic()
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="gatewaydoctor") as pool:
        c = _Collector(pool, win, progress, on_item)
        # The unit chain first: it leads to the slowest probes (the app's own interpreter).
        # The unit files are read here, before any other job competes for the interpreter,
        # and the web units' `systemctl show` is the first command started.
        booted = systemd_booted()
        f_units = None
        found: List[str] = []
        shows: Dict[str, Pending] = {}
        if booted:
            scan = c.items[sources.UNIT_SCAN] = unitscan.scan(sources.UNIT_SCAN)
            found = _units_on_disk(scan)
            # The web units alone first, and waited for: their app probes then start with
            # the host (and systemd, which answers one client at a time) not yet busy with
            # the other commands, which run in the probes' shadow.
            web = [u for u in found if not u.startswith("nginx")]
            web_shows = _show_units(c, web)
            early = set() if no_exec else _early_app_probes(c, scan, web_shows)
            _units(c, web_shows, no_exec, early)
            if web and busy_after is not None:
                busy_after.set()
            shows = _show_units(c, [u for u in found if u not in web])
            f_units = c.submit(run, sources.UNIT_LIST, [
                "systemctl", "list-units", "--type=service", "--all", "--plain", "--no-legend",
                "--no-pager"])
            c.submit(journal, sources.KERNEL_JOURNAL, [
                "-k", "-p", "warning", "-n", str(KERNEL_LINES), "--since", KERNEL_SINCE])
        else:
            for key in (sources.UNIT_LIST, sources.KERNEL_JOURNAL):
                c.items[key] = new_item(
                    key, "command",
                    error="systemd is not the init system here (no /run/systemd/system)",
                    error_kind="unavailable")

        f_listen = c.submit(_tcp_listeners)
        f_procs = c.submit(procfs.processes)
        # Every running master with its own binary and -c/-p/-g (custom builds, OpenResty,
        # panels and containers start nginx with their own config), found from the process
        # table and the listening sockets; `nginx` on PATH when none runs.
        f_dump = c.submit(_nginx_dumps, f_procs, f_listen, url,
                          (c.items[sources.UNIT_SCAN].get("data") or {}).get("units", [])
                          if booted else [])
        c.submit(read_file, sources.PROC_NET_UNIX, "/proc/net/unix", max_bytes=4 << 20)
        c.submit(fsinfo.accounts, sources.ACCOUNTS)
        _system(c, booted)
        if url:
            _probe_url(c, url)
        if booted and f_units:
            # The web units on disk are looked at before the unit list and the process
            # table come in: their probes (the app's own interpreter) are the slowest.
            _units(c, shows, no_exec)
            procs_item = c.take(f_procs)
            loaded = _loaded_without_file(c.take(f_units), c.items[sources.UNIT_SCAN])
            more = [u for u in _more_units(c, loaded, procs_item) if u not in found]
            _units(c, _show_units(c, more), no_exec)
        else:
            procs_item = c.take(f_procs)
        c.submit(namespaces.scan, sources.NAMESPACES, (procs_item or {}).get("data"))
        c.submit(_containers, c, ((procs_item or {}).get("data") or {}).get("processes", []))
        _supervisor(c, procs_item, no_exec)
        pm2_pids = _pm2(c, procs_item, no_exec)
        _hand_started(c, procs_item, pm2_pids, f_dump, no_exec)
        if busy_after is not None:
            busy_after.set()
        dump = c.take(f_dump)
        master = ((dump or {}).get("data") or {}).get("master")
        if dump is not None:
            c.items[sources.NGINX_TEST] = _nginx_test_of(dump)
        text = dump["stdout"] if dump and dump["rc"] == 0 else None
        # -V (version, build options, the main config's path) only when -T dumped nothing
        # (the test failed): then the files are read so the proxy_pass targets are known.
        # The serving master's binary as -T ran it (through nsenter, for one in a container).
        nginx = list((dump or {}).get("argv") or nginxscan.command(None))
        nginx = nginx[:nginx.index("--") + 2] if "--" in nginx else nginx[:1]
        version = (c.take(c.submit(run, sources.NGINX_VERSION, [*nginx, "-V"]))
                   if text is None else None)
        if text is None and version and version["rc"] == 0:
            main = nginxscan.conf_path(version["stderr"] or "", master)
            files = new_item(sources.NGINX_FILES, "file", path=main,
                             stdout=nginxscan.read_config_files(main))
            c.items[sources.NGINX_FILES] = files
            text = files["stdout"]
        if text:
            scan = nginxscan.scan(text)
            _nginx_logs(c, scan, (master or {}).get("root"))
            # nginx in a network namespace of its own is asked from there.
            _nginx_probes(c, scan, url,
                          master.get("pid") if master and master.get("netns") else None)
            _uwsgi_probes(c, text, url)
            c.submit(nginxscan.runtime, sources.NGINX_RUNTIME, text, scan,
                     (master or {}).get("pid"))

        c.drain()
        _system_after_units(c, procs_item)
        # The owners of files a service was denied (named in its journal or import probe).
        for path in fsinfo.denied_paths(list(c.items.values())):
            c.submit(fsinfo.path_stat, sources.path_stat(path), path)
        c.drain()
    failures = [
        {"source": k, "reason": v["error"], "kind": v["error_kind"]}
        for k, v in sorted(c.items.items()) if v["error"] and v["error_kind"] != "probe"
    ]
    return {
        "schema": SCHEMA,
        "host": socket.gethostname(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "tool_version": TOOL_VERSION,
        "target_url": url,
        "options": {"no_exec": no_exec, "euid": os.geteuid(), "systemd": booted,
                    "windows": c.windows},
        "duration": round(time.monotonic() - t0, 3),
        "items": dict(sorted(c.items.items())),
        "failures": failures,
    }


def _tcp_listeners() -> List[Item]:
    """Listening TCP sockets from sock_diag; /proc/net/tcp{,6} where netlink is not there."""
    item = sockdiag.tcp_listeners()
    if item["error"] is None:
        return [item]
    return [item, *(read_file(sources.proc_net(table), f"/proc/net/{table}", max_bytes=4 << 20)
                     for table in ("tcp", "tcp6"))]


def _probe_url(c: _Collector, url: str) -> None:
    """The URL through its name as it resolves here, and how that name resolves."""
    try:
        endpoint, path, tls, host = probes.url_endpoint(url)
    except ValueError as exc:
        c.items[sources.http_probe(sources.VIA_URL, url)] = new_item(
            sources.http_probe(sources.VIA_URL, url), "probe", error=str(exc), error_kind="failed")
        return
    name, port = split_hostport(endpoint)
    c.submit(probes.resolve, sources.name_lookup(name), name, port)
    # The URL gets longer than the other probes: a 504 needs proxy_read_timeout to pass.
    c.submit(probes.http_probe, sources.http_probe(sources.VIA_URL, url), endpoint=endpoint,
             path=path, host_header=host, tls=tls, via=sources.VIA_URL,
             timeout=URL_PROBE_TIMEOUT)


def _nginx_logs(c: _Collector, scan: Dict[str, Any], root: Optional[str]) -> None:
    """The error and access logs nginx writes (under a container's root, for nginx in one)."""
    errors = [p for p in scan["error_logs"] if p.startswith("/")] or ["/var/log/nginx/error.log"]
    access = [p for p in scan["access_logs"] if p.startswith("/")] or ["/var/log/nginx/access.log"]
    w = c.windows
    inside = root or ""
    for path in errors[:4]:
        c.submit(read_tail, sources.nginx_error_log(path), inside + path,
                 max_bytes=w["error_log_bytes"], max_lines=w["error_log_lines"])
    for path in access[:4]:
        c.submit(read_tail, sources.nginx_access_log(path), inside + path,
                 max_bytes=w["access_log_bytes"], max_lines=w["access_log_lines"])


def _probers(netns_pid: Optional[int]) -> Tuple[Callable[..., Item], Callable[..., Item]]:
    """The HTTP and TCP probes: made here, or from nginx's own network namespace when it
    runs in one (its listen addresses and its upstreams' loopback are that namespace's)."""
    if netns_pid is None:
        return probes.http_probe, probes.tcp_probe
    return (functools.partial(nsprobe.run_in, netns_pid, "http"),
            lambda source, endpoint: nsprobe.run_in(netns_pid, "connect", source,
                                                    endpoint=endpoint))


def _nginx_probes(c: _Collector, scan: Dict[str, Any], url: Optional[str] = None,
                  netns_pid: Optional[int] = None) -> None:
    """The URL at this host's nginx, each server block's own paths, each upstream's."""
    seen: Set[str] = set()
    http_probe, tcp_probe = _probers(netns_pid)
    if url:
        _url_at_nginx(c, scan, url, seen, http_probe)
    for server in scan["servers"][:MAX_PROBE_SERVERS]:
        names = [n for n in server["server_name"] if n not in ("_", '""', "") and "*" not in n
                 and not n.startswith("~")]
        host = names[0] if names else None
        for listen in server["listen"] or ["80"]:
            found = probes.listen_endpoint(listen)
            if found is None:
                continue
            endpoint, tls = found
            label = f"{host}@{endpoint}" if host else endpoint
            for path in probes.server_paths(server):
                key = sources.http_probe(sources.VIA_NGINX, label + path)
                if key not in seen:
                    seen.add(key)
                    c.submit(http_probe, key, endpoint=endpoint, path=path,
                             host_header=host, tls=tls, via=sources.VIA_NGINX)
            break  # one listen per server block is enough to reach it
    planned = probes.upstream_paths(scan["servers"], scan["upstreams"])
    if url:  # the URL's own path first (its upstreams too), as nginx would send it
        sent = probes.url_upstream_paths(scan["servers"], scan["upstreams"], url)
        planned = {**{ep: [p] for ep, p in sent.items()}, **planned}
        for ep, path in sent.items():
            planned[ep] = list(dict.fromkeys([path, *planned[ep]]))
    for ep in list(planned)[:MAX_UPSTREAMS]:
        c.submit(tcp_probe, sources.connect_probe(ep), ep)
        for path in planned[ep]:
            c.submit(http_probe, sources.http_probe(sources.VIA_UPSTREAM, ep + path),
                     endpoint=ep, path=path, via=sources.VIA_UPSTREAM)


def _uwsgi_probes(c: _Collector, dump: str, url: Optional[str]) -> None:
    """Each `uwsgi_pass` endpoint: a connect, and GETs in the uwsgi protocol (the URL's path
    first where its location passes there), never HTTP."""
    path = probes.url_endpoint(url)[1] if url and url.startswith(("http://", "https://")) \
        else None
    for ep, locations in list(uwsgi_agent.passes(dump).items())[:MAX_UPSTREAMS]:
        c.submit(probes.tcp_probe, sources.connect_probe(ep), ep)
        mine = [path] if path and any(path.startswith(loc) for loc in locations) else []
        for p in list(dict.fromkeys(mine + locations))[:uwsgi_agent.PATHS_PER_ENDPOINT]:
            c.submit(uwsgi_agent.probe, sources.uwsgi_probe(ep + p), ep, p)


def _uwsgi_files(c: _Collector, unit: str, argv: List[str], workdir: str) -> None:
    """The configuration files a uwsgi unit loads, and the tails of the logs they name."""
    texts = []
    for path in uwsgi_agent.config_files(argv, workdir or None)[:4]:
        item = c.items[sources.uwsgi_config(path)] = uwsgi_agent.read_config(path)
        item["data"] = {"unit": unit}
        texts.append(item["stdout"] or "")
    w = c.windows
    for path in uwsgi_agent.log_paths(argv, texts)[:4]:
        c.submit(uwsgi_agent.read_log, path, unit, w["error_log_bytes"], w["error_log_lines"])
    # uWSGI changes into its `chdir` before loading the app: the app's folder, where the
    # unit itself names none.
    target = execspec.app_target(argv + [a for t in texts for a in execspec.uwsgi_ini_args(t)])
    chdir = (target.chdir if target else None) or ""
    if not workdir and chdir.startswith("/"):
        c.submit(pyapp.workdir_listing, sources.dir_listing(chdir), chdir)


def _url_at_nginx(c: _Collector, scan: Dict[str, Any], url: str, seen: Set[str],
                  http_probe: Callable[..., Item] = probes.http_probe) -> None:
    """The URL's path, with its Host (and SNI), at each listen of the server block that
    serves its name here: what this nginx answers, wherever the name resolves."""
    found = probes.url_targets(scan["servers"], url)
    if found is None:
        return
    host, path, targets = found
    for endpoint, tls in targets:
        key = sources.http_probe(sources.VIA_NGINX, f"{host}@{endpoint}{path}")
        if key not in seen:
            seen.add(key)
            c.submit(http_probe, key, endpoint=endpoint, path=path, host_header=host,
                     tls=tls, via=sources.VIA_NGINX, timeout=URL_PROBE_TIMEOUT)


def _units_on_disk(scan: Optional[Item]) -> List[str]:
    """Web units (their ExecStart runs a Python web server) and nginx, from the unit files."""
    on_disk = ((scan or {}).get("data") or {}).get("units", [])
    return [u["name"] for u in on_disk if not u["masked"] and (
        u["name"].startswith("nginx") or any(
            execspec.server_of(a) not in (None, "python")
            for line in u["exec_start"] for a in systemd.exec_argvs(line)))]


def _loaded_without_file(units: Optional[Item], scan: Optional[Item]) -> List[str]:
    """Loaded units with no file on disk to read (transient units, generated ones)."""
    known = {u["name"] for u in ((scan or {}).get("data") or {}).get("units", [])}
    loaded = []
    for line in ((units or {}).get("stdout") or "").splitlines():
        words = line.split()
        if words and words[0].endswith(".service") and "@." not in words[0]:
            name = words[0].lstrip("●*")
            if name not in known:
                loaded.append(name)
    return loaded


def _show_units(c: _Collector, names: List[str]) -> "Dict[str, Pending]":
    return {u: c.submit(run, sources.unit_show(u), ["systemctl", "show", u, "--no-pager"])
            for u in dict.fromkeys(names)}


def _more_units(c: _Collector, names: List[str], procs_item: Optional[Item]) -> List[str]:
    """Web units with no file on disk (screened by ExecStart) or seen running a server."""
    candidates: List[str] = []
    if names:
        screen = run(sources.UNIT_SCREEN, ["systemctl", "show", "--no-pager", "-p", "Id",
                     "-p", "ExecStart", *names], timeout=10.0)
        c.items[sources.UNIT_SCREEN] = screen
        for props in systemd.parse_show(screen["stdout"] or ""):
            unit = props.get("Id", "")
            argvs = systemd.exec_argvs(props.get("ExecStart", ""))
            web = any(execspec.server_of(a) not in (None, "python") for a in argvs)
            if web or unit.startswith("nginx"):
                candidates.append(unit)
    for proc in ((procs_item or {}).get("data") or {}).get("processes", []):
        cg = proc.get("cgroup") or ""
        unit = cg.rsplit("/", 1)[-1]
        server = execspec.server_of(proc["cmdline"])
        if unit.endswith(".service") and server not in (None, "python"):
            candidates.append(unit)
    return candidates


def _early_app_probes(c: _Collector, scan: Item,
                      shows: "Dict[str, Pending]") -> Set[str]:
    """Start each web unit's app probe from its unit file, not waiting for `systemctl show`
    (which the probe checks its settings against once it answers)."""
    paths = {u["name"]: u["path"] for u in (scan.get("data") or {}).get("units", [])}
    started = set()
    for unit, show in shows.items():
        props = unitscan.file_props(paths[unit]) if unit in paths else None
        argv = execspec.server_argv((props or {}).get("ExecStart", ""))
        if props is None or argv is None or pyapp.interpreter(argv) is None or \
                execspec.app_target(argv) is None:
            continue
        c.submit(appprobe.run_checked, unit, props, argv, functools.partial(_loaded, show))
        started.add(unit)
    return started


def _loaded(show: "Pending") -> Optional[Dict[str, str]]:
    """The properties systemd loaded for a unit (None if `systemctl show` failed)."""
    item = show.result()
    blocks = systemd.parse_show((item or {}).get("stdout") or "") if item and \
        item["rc"] == 0 else []
    return blocks[0] if blocks else None


def _units(c: _Collector, shows: "Dict[str, Pending]", no_exec: bool,
           probed: Union[Set[str], FrozenSet[str]] = frozenset()) -> None:
    """Each web unit and nginx closely: unit files, journal, and the app's own Python
    (unless its app probe is `probed` already)."""
    units = {fut: unit for unit, fut in shows.items()}
    for fut in as_completed(units):
        unit, show = units[fut], c.take(fut)
        blocks = systemd.parse_show((show or {}).get("stdout") or "")
        if blocks:
            _python_unit(c, unit, blocks[0], no_exec, unit in probed)  # the app probe first
            c.submit(unitscan.cat, sources.unit_cat(unit), unit, blocks[0])
        else:  # systemd did not answer: let systemctl say why
            c.submit(run, sources.unit_cat(unit), ["systemctl", "cat", unit, "--no-pager"])
        c.submit(journal, sources.unit_journal(unit), ["-u", unit, "-n",
                 str(c.windows["journal_lines"]), "--since", c.windows["journal_since"]])


def _nginx_dumps(f_procs: "Pending", f_listen: "Pending",
                 url: Optional[str], units: List[Dict[str, Any]]) -> List[Item]:
    """`nginx -T` of every running master (the one serving the URL's port, or 80/443, under
    nginx.dump; see nginxscan.dumps); with none running, of the nginx this host would
    start. -T tests the configuration exactly as -t does before dumping it: nginx.test is
    read from its rc and stderr rather than parsing everything twice."""
    table = (f_procs.result() or {}).get("data") or {}
    listed = f_listen.result()
    found = _items_of(listed)
    sockets = (found[0].get("data") or {}).get("sockets", []) if found else []
    if found and found[0]["error"]:  # no sock_diag: the /proc/net tables the job read
        sockets = [s for i in found[1:] for s in nginxscan.proc_net_listeners(i["stdout"])]
    masters = nginxscan.masters_from(table.get("processes", []), sockets, table.get("mntns"),
                                     table.get("netns")) or nginxscan.would_start(units)
    host, port = None, None
    if url:
        with contextlib.suppress(ValueError):
            host, port = split_hostport(probes.url_endpoint(url)[0])
    return nginxscan.dumps(sources.NGINX_DUMP, masters, port, host)


def _nginx_test_of(dump: Item) -> Item:
    """`nginx -t`'s evidence, from `nginx -T` (same test, same messages on stderr, same rc)."""
    return new_item(sources.NGINX_TEST, "command", argv=dump["argv"], rc=dump["rc"], stdout="",
                    stderr=dump["stderr"], duration=dump["duration"], error=dump["error"],
                    error_kind=dump["error_kind"],
                    data={"read_from": sources.NGINX_DUMP, **(dump["data"] or {})})


def _python_unit(c: _Collector, unit: str, props: Dict[str, str], no_exec: bool,
                 probed: bool = False) -> None:
    argv = execspec.server_argv(props.get("ExecStart", ""))
    if argv is None:
        return
    python = pyapp.interpreter(argv)
    if python is None:
        c.items[sources.python_version(unit)] = new_item(
            sources.python_version(unit), "command",
            error=f"cannot tell which Python {argv[0]} runs", error_kind="failed")
    else:
        _python_probes(c, unit, props, argv, python, no_exec, probed)
    env_files = [p for p, _optional in systemd.environment_files(
        props.get("EnvironmentFiles", ""))]
    workdir = systemd.clean_path(props.get("WorkingDirectory", ""))
    if execspec.server_of(argv) == "uwsgi":
        _uwsgi_files(c, unit, argv, workdir)
    if workdir.startswith("/"):
        c.submit(pyapp.workdir_listing, sources.dir_listing(workdir), workdir)
        env_files.append(os.path.join(workdir, ".env"))
    for path in dict.fromkeys(env_files):
        c.submit(pyapp.env_keys, sources.env_keys(path), path)


def _python_probes(c: _Collector, unit: str, props: Dict[str, str], argv: List[str],
                   python: str, no_exec: bool, probed: bool) -> None:
    """The app probe (its own interpreter: database logins, import, version)."""
    checks = _databases(c, unit, props, argv, no_exec)
    if no_exec or execspec.app_target(argv) is None:
        # No app probe: the version and the database checks (TCP only under --no-exec).
        c.submit(pyapp.python_version, sources.python_version(unit), python)
        for source, kwargs in checks:
            c.submit(dbprobe.check, source, **kwargs)
        if no_exec:
            c.items[sources.import_probe(unit)] = new_item(
                sources.import_probe(unit), "command", error="skipped: --no-exec",
                error_kind="skipped")
    elif not probed:
        # One run of the app's interpreter: database logins, then the import probe (which
        # also reports the interpreter's version).
        c.submit(appprobe.run, unit, props, argv, checks)


def _supervisor(c: _Collector, procs_item: Optional[Item], no_exec: bool) -> None:
    """supervisord's status, config and logs; each web program is probed like a unit."""
    procs = ((procs_item or {}).get("data") or {}).get("processes", [])
    if not supervisord.present(procs):
        return
    config, running = supervisord.supervisord_config(procs)
    if config is None:
        c.submit(supervisord.status, sources.SUPERVISOR_STATUS, config)
        c.items[sources.SUPERVISOR_CONFIG] = new_item(
            sources.SUPERVISOR_CONFIG, "listing", error="no supervisord.conf found",
            error_kind="missing")
        return
    item, programs = supervisord.read_config(sources.SUPERVISOR_CONFIG, config)
    c.items[sources.SUPERVISOR_CONFIG] = item
    if running or programs:
        c.submit(supervisord.status, sources.SUPERVISOR_STATUS, config)
    else:
        # supervisorctl is a Python program of its own (~0.1 s): not worth starting to
        # hear that a supervisord with no web program is not running.
        c.items[sources.SUPERVISOR_STATUS] = new_item(
            sources.SUPERVISOR_STATUS, "command",
            error="supervisord is not running and its config names no web server",
            error_kind="skipped")
    for source, path in supervisord.log_paths(item):
        c.submit(read_tail, source, path, max_bytes=supervisord.LOG_BYTES,
                 max_lines=supervisord.LOG_LINES)
    for name, props in programs:
        _python_unit(c, sources.supervisor_unit(name), props, no_exec)


def _containers(c: _Collector, procs: List[Dict[str, Any]]) -> List[Item]:
    """Each runtime's containers, running or not; then the output of those that serve (from
    this worker: drain() waits for this job, so for what it submits)."""
    found = [item for item in (containers.podman(sources.container_list("podman"), procs),
                               containers.docker(sources.container_list("docker"), procs))
             if item is not None]
    serving = [r for item in found for r in (item.get("data") or {}).get("containers", [])
               if containers.serves(r)]
    for record in serving[:containers.MAX_LOGGED]:
        c.submit(containers.output, record)
    return found


def _pm2(c: _Collector, procs_item: Optional[Item], no_exec: bool) -> Set[int]:
    """Each pm2 daemon's apps (live from `pm2 jlist`, else dump.pm2), its log and theirs;
    each web app is probed like a unit. The daemons' pids (their children are theirs)."""
    procs = ((procs_item or {}).get("data") or {}).get("processes", [])
    found = pm2.daemons(procs)
    if not found:
        return set()
    c.items[sources.PM2_DAEMONS] = pm2.daemons_item(sources.PM2_DAEMONS, found)
    for daemon in found:
        # pm2's client is a Node program (~0.2 s): its list comes in while the rest starts.
        c.submit(_pm2_apps, c, daemon, no_exec)
    return {int(d["pid"]) for d in found}


def _pm2_apps(c: _Collector, daemon: Dict[str, Any], no_exec: bool) -> Item:
    """One daemon's list; then its logs and each web app's probe are started (from this
    worker: drain() waits for this job, so for what it submits)."""
    item, programs = pm2.app_list(daemon)
    for source, path in pm2.log_paths(item):
        c.submit(read_tail, source, path, max_bytes=pm2.LOG_BYTES, max_lines=pm2.LOG_LINES)
    for name, props in programs:
        _python_unit(c, sources.pm2_unit(name), props, no_exec)
    return item


def _hand_started(c: _Collector, procs_item: Optional[Item], pm2_pids: Set[int],
                  f_dump: "Pending", no_exec: bool) -> None:
    """Web servers no manager runs (nohup, screen, tmux), and the files their output goes to;
    with none running, a nohup.out left in a server block's root (where a panel puts the
    site, and where it was started from)."""
    procs = ((procs_item or {}).get("data") or {}).get("processes", [])
    found = handstarted.find(procs, pm2_pids)
    # The nohup.out no running server writes to: what one that died said (a panel's app
    # restarted by hand, which could not bind a port a stranger took, say).
    logs = handstarted.log_paths(found)
    c.submit(_nohup_in_roots, c, f_dump, {path for _s, path in logs})
    if not found:
        return
    for proc in found:
        # Probed like a unit (its database logins, its .env, its import), as it runs.
        props, proc["environment_keys"] = handstarted.probe_props(proc)
        _python_unit(c, sources.hand_unit(int(proc["pid"])), props, no_exec)
    c.items[sources.HAND_PROCESSES] = handstarted.listing(sources.HAND_PROCESSES, found)
    for source, path in logs:
        c.submit(read_tail, source, path, max_bytes=handstarted.LOG_BYTES,
                 max_lines=handstarted.LOG_LINES)


def _nohup_in_roots(c: _Collector, f_dump: "Pending", written: Set[str]) -> None:
    """The folder listing and tail of each nohup.out in the `root` of nginx's server blocks
    that no running server writes to (from `nginx -T`, once it is in: this job waits)."""
    dump = next(iter(_items_of(f_dump.result())), None)
    text = dump["stdout"] if dump and dump["rc"] == 0 else ""
    for root, path in handstarted.nohup_in_roots(text or ""):
        if path in written:
            continue
        c.submit(pyapp.workdir_listing, sources.dir_listing(root), root)
        c.submit(read_tail, sources.hand_nohup(path), path, max_bytes=handstarted.LOG_BYTES,
                 max_lines=handstarted.LOG_LINES)


def _databases(c: _Collector, unit: str, props: Dict[str, str], argv: List[str],
               no_exec: bool) -> List[Tuple[str, Dict[str, Any]]]:
    """The database each of the unit's settings names (to reach, and log in to)."""
    checks = dbprobe.plan(unit, props, argv, no_exec)
    c.items[sources.db_settings(unit)] = new_item(
        sources.db_settings(unit), "listing",
        data={"settings": [{"setting": kw["setting"], "origin": kw["origin"]}
                           for _s, kw in checks]})
    # The local database server's own units: a stopped one is what a fix starts.
    wanted = tuple(dict.fromkeys(p for _s, kw in checks for p in dbunits.patterns(
        str(dbprobe.describe(kw["dsn"])["scheme"]), dbprobe.describe(kw["dsn"])["host"])))
    if wanted:
        c.submit(dbunits.units, sources.db_server_units(unit), unit, wanted)
    return checks


def _system(c: _Collector, booted: bool) -> None:
    """Memory, load, file handles, the packet filter and SELinux: nothing here waits on units."""
    c.submit(read_file, sources.MEMORY, "/proc/meminfo", max_bytes=16384)
    c.submit(sysinfo.load, sources.LOAD)
    c.submit(read_file, sources.FILE_NR, "/proc/sys/fs/file-nr", max_bytes=256)
    listings = firewall.plan()
    for source, argv in listings:
        c.submit(firewall.listing, source, argv)
    if not listings:
        c.items[sources.FIREWALL_NFT] = firewall.none_installed()
    selinux = firewall.selinux_state(sources.SELINUX)
    c.items[sources.SELINUX] = selinux
    if (selinux["data"] or {}).get("present"):
        for source, _kind, avc_argv in firewall.avc_sources():
            if avc_argv is not None and not booted:
                continue
            c.submit(firewall.avc_item, source, avc_argv)


def _system_after_units(c: _Collector, procs_item: Optional[Item]) -> None:
    """Disk space where the units work and nginx writes; open-file limits of nginx and the app."""
    workdirs: List[str] = []
    for key, item in list(c.items.items()):
        if key.startswith(sources.UNIT_SHOW_PREFIX):
            for props in systemd.parse_show(item.get("stdout") or "")[:1]:
                wd = systemd.clean_path(props.get("WorkingDirectory", ""))
                if wd.startswith("/") and wd not in workdirs:
                    workdirs.append(wd)
    c.submit(sysinfo.disk_usage, sources.DISK, workdirs)
    pids: List[Tuple[int, str]] = []
    for proc in ((procs_item or {}).get("data") or {}).get("processes", []):
        comm = str(proc.get("comm") or "")
        if comm == "nginx" or execspec.server_of(proc.get("cmdline") or []) not in (None, "python"):
            pids.append((int(proc["pid"]), comm))
    c.submit(sysinfo.open_file_limits, sources.LIMITS, pids)
    c.drain()
