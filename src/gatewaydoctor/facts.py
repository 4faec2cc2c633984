"""Typed facts parsed from raw evidence. Rules read only these."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .agent.execspec import AppTarget

_LOOPBACK_NAMES = {"localhost": ("127.0.0.1", "::1"), "ip6-localhost": ("::1",)}


@dataclass(frozen=True)
class Endpoint:
    """Where something listens or connects: a TCP host:port or a unix socket path."""

    host: str | None = None
    port: int | None = None
    path: str | None = None

    @property
    def label(self) -> str:
        """`127.0.0.1:8000`, `[::1]:8000` or `unix:/run/app.sock`."""
        if self.path is not None:
            return f"unix:{self.path}"
        host = self.host or "*"
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    @classmethod
    def parse(cls, text: str, default_port: int = 80) -> Endpoint:
        """Parse `host:port`, `[v6]:port`, `host` or `unix:/path`."""
        if text.startswith("unix:"):
            return cls(path=text[5:].rstrip(":") or text[5:])
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else ""
        elif text.count(":") == 1:
            host, _, port = text.partition(":")
        elif text.isdigit():
            host, port = "*", text
        else:
            host, port = text, ""
        return cls(host=host, port=int(port) if port.isdigit() else default_port)

    def addresses(self) -> tuple[str, ...]:
        """The IP addresses this endpoint's host stands for (names resolved for loopback only)."""
        if self.host is None:
            return ()
        return _LOOPBACK_NAMES.get(self.host, (self.host,))

    def accepts(self, target: Endpoint) -> bool:
        """Tell whether a listener bound at self receives connections made to target."""
        if self.path is not None or target.path is not None:
            return self.path == target.path
        if self.port != target.port:
            return False
        for want in target.addresses():
            for have in self.addresses():
                if have == want or have in ("*", "::"):
                    return True
                if have == "0.0.0.0" and _is_v4(want):
                    return True
        return False


def _host_port(host: str | None, port: int | None) -> tuple[str, int | None]:
    """Split a Host header (`example.com:8080`, `[::1]:80`) into name and port."""
    if not host:
        return "", port
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, int(rest[1:]) if rest[1:].isdigit() else port
    name, _, tail = host.partition(":")
    return name, int(tail) if tail.isdigit() else port


def pcre_to_python(pattern: str) -> str:
    """PCRE's named groups `(?<n>…)`/`(?'n'…)` are `(?P<n>…)` in Python."""
    return re.sub(r"\(\?(?:<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)')",
                  lambda m: f"(?P<{m.group(1) or m.group(2)}>", pattern)


def _name_matches(kind: str, server_name: str, name: str) -> bool:
    """One of nginx's server_name match kinds, in its order of precedence."""
    n = server_name.lower()
    if kind == "exact":
        return n == name
    if kind == "leading":
        return (n.startswith("*.") and name.endswith(n[1:])) or (
            n.startswith(".") and (name == n[1:] or name.endswith(n)))
    if kind == "trailing":
        return n.endswith(".*") and name.startswith(n[:-1])
    if not n.startswith("~"):
        return False
    try:
        return re.search(pcre_to_python(server_name[1:]), name) is not None
    except re.error:
        return False


def _is_v4(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr).version == 4
    except ValueError:
        return False


@dataclass(frozen=True)
class Listen:
    """One `listen` directive of a server block."""

    endpoint: Endpoint
    ssl: bool
    default_server: bool
    raw: str


@dataclass(frozen=True)
class NginxDirective:
    """One simple directive of the configuration, where it is written, and its context."""

    name: str
    args: tuple[str, ...]
    file: str
    line: int
    context: str = ""

    @property
    def where(self) -> str:
        """`file:line` of the directive."""
        return f"{self.file}:{self.line}"

    @property
    def text(self) -> str:
        """The directive as written: `proxy_read_timeout 2s;`."""
        return " ".join((self.name, *self.args)) + ";"


@dataclass(frozen=True)
class Location:
    """A location block and where it proxies to."""

    path: str
    modifier: str
    proxy_pass: str | None
    endpoints: tuple[Endpoint, ...]
    upstream_group: str | None
    file: str
    line: int
    directives: tuple[NginxDirective, ...] = ()

    @property
    def where(self) -> str:
        """`file:line` of the location block."""
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class ServerBlock:
    """A `server {}` block in the http context."""

    file: str
    line: int
    listens: tuple[Listen, ...]
    names: tuple[str, ...]
    locations: tuple[Location, ...]
    directives: tuple[NginxDirective, ...] = ()

    @property
    def label(self) -> str:
        """A short human label: first server name and first listen."""
        name = next((n for n in self.names if n not in ("_", "")), "_")
        listen = self.listens[0].raw if self.listens else "80"
        return f"server {name} (listen {listen}) {self.file}:{self.line}"


@dataclass(frozen=True)
class UpstreamGroup:
    """An `upstream name {}` block."""

    name: str
    servers: tuple[Endpoint, ...]
    file: str
    line: int


@dataclass(frozen=True)
class NginxConfig:
    """The nginx configuration as dumped by `nginx -T`."""

    parser: str
    note: str | None
    files: tuple[str, ...]
    servers: tuple[ServerBlock, ...]
    upstreams: tuple[UpstreamGroup, ...]
    error_logs: tuple[str, ...]
    access_logs: tuple[str, ...]
    errors: tuple[str, ...] = ()
    # Simple directives of the main, events and http contexts (context says which).
    globals: tuple[NginxDirective, ...] = ()

    def setting(self, name: str, server: ServerBlock | None = None,
                location: Location | None = None) -> NginxDirective | None:
        """The directive in force for a location: its own, else the server's, else http's."""
        for scope in (location.directives if location else (),
                      server.directives if server else (),
                      tuple(d for d in self.globals if d.context == "http"),
                      tuple(d for d in self.globals if d.context in ("main", "events"))):
            found = [d for d in scope if d.name == name]
            if found:
                return found[-1]
        return None

    def server_of(self, location: Location) -> ServerBlock | None:
        """The server block a location belongs to."""
        return next((s for s in self.servers if location in s.locations), None)

    def server_for(self, host: str | None, port: int | None = None) -> ServerBlock | None:
        """The server block a request with this Host header (and port) reaches, like nginx:
        exact name, `*.suffix`, `prefix.*`, `~regex`, else the port's default server."""
        name, port = _host_port(host, port)
        candidates = [s for s in self.servers
                      if port is None or not s.listens
                      or any(li.endpoint.port == port for li in s.listens)] or list(self.servers)
        name = name.lower()
        for kind in ("exact", "leading", "trailing", "regex"):
            for s in candidates:
                if name and any(_name_matches(kind, n, name) for n in s.names):
                    return s
        for s in candidates:
            if any(li.default_server for li in s.listens):
                return s
        return candidates[0] if candidates else None

    def location_for(self, path: str, host: str | None = None) -> Location | None:
        """The location nginx picks for path, the way nginx does it.

        An exact `=` match wins; else the longest prefix, unless a regex (`~`, `~*`, in
        the order written) matches and that prefix is not `^~`.
        """
        server = self.server_for(host)
        if server is None:
            return None
        path = path.split("?", 1)[0]
        best: Location | None = None
        for loc in server.locations:
            if loc.modifier == "=" and path == loc.path:
                return loc
            if loc.modifier in ("", "^~") and path.startswith(loc.path) and (
                    best is None or len(loc.path) > len(best.path)):
                best = loc
        if best is not None and best.modifier == "^~":
            return best
        for loc in server.locations:
            if loc.modifier in ("~", "~*"):
                try:
                    flags = re.IGNORECASE if loc.modifier == "~*" else 0
                    if re.search(pcre_to_python(loc.path), path, flags):
                        return loc
                except re.error:
                    continue  # PCRE syntax Python's re lacks; nginx may still match it
        return best

    def proxied_locations(self) -> list[tuple[ServerBlock, Location]]:
        """Every (server, location) pair that has a proxy_pass."""
        return [(s, loc) for s in self.servers for loc in s.locations if loc.proxy_pass]


@dataclass(frozen=True)
class NginxMessage:
    """One `nginx: [level] text in file:line` line from `nginx -t`."""

    level: str
    text: str
    file: str | None
    line: int | None
    raw: str


@dataclass(frozen=True)
class NginxTest:
    """The outcome of `nginx -t`."""

    ok: bool
    rc: int | None
    messages: tuple[NginxMessage, ...]
    source: str


@dataclass(frozen=True)
class ErrorLogEntry:
    """One nginx error.log line (signatures.md §0)."""

    time: str
    level: str
    pid: int
    cid: int | None
    message: str
    action: str | None
    client: str | None
    server: str | None
    request: str | None
    upstream: str | None
    host: str | None
    where: str
    raw: str


@dataclass(frozen=True)
class AccessLogEntry:
    """One access.log line in the `combined` format."""

    remote: str
    time: str
    request: str
    status: int
    body_bytes: int
    referer: str
    agent: str
    where: str
    raw: str

    @property
    def path(self) -> str:
        """The request path (`/api/health`)."""
        parts = self.request.split()
        return parts[1] if len(parts) > 1 else ""


@dataclass(frozen=True)
class Unit:
    """A systemd service unit, from `systemctl show`."""

    name: str
    load_state: str
    active_state: str
    sub_state: str
    result: str
    n_restarts: int
    exec_main_code: int | None
    exec_main_status: int | None
    exec_start: tuple[tuple[str, ...], ...]
    server: str | None
    app: AppTarget | None
    binds: tuple[Endpoint, ...]
    working_directory: str | None
    user: str | None
    environment_files: tuple[tuple[str, bool], ...]
    fragment_path: str | None
    unit_file_state: str
    main_pid: int | None
    need_daemon_reload: bool
    description: str
    source: str

    @property
    def is_web_app(self) -> bool:
        """True when the unit runs a Python web server (uvicorn, gunicorn, ...)."""
        return self.server is not None and self.server != "python"

    @property
    def state(self) -> str:
        """`active/running`, `activating/auto-restart`, ..."""
        return f"{self.active_state}/{self.sub_state}"


@dataclass(frozen=True)
class JournalEntry:
    """One journal record (from `journalctl -o json`)."""

    unit: str | None
    time: float | None
    message: str
    pid: int | None
    identifier: str | None
    priority: int | None
    source: str


@dataclass(frozen=True)
class Traceback:
    """A Python traceback found in the journal or in the import probe's stderr."""

    unit: str | None
    origin: str
    exc_type: str
    exc_message: str
    last_line: str
    text: str
    time: float | None
    source: str
    # Lines the exception printed after its `Type: message` line (pydantic's field list).
    detail: tuple[str, ...] = ()


PROC_TCP_TABLES = "/proc/net/tcp, /proc/net/tcp6"


@dataclass(frozen=True)
class Listener:
    """A listening socket, with the processes holding it."""

    proto: str
    endpoint: Endpoint
    inode: int
    pids: tuple[int, ...]
    table: str  # where it was seen: /proc/net/tcp, /proc/net/unix, sock_diag netlink ...


@dataclass(frozen=True)
class Process:
    """A process from /proc."""

    pid: int
    comm: str
    cmdline: tuple[str, ...]
    uid: int | None
    cwd: str | None
    exe: str | None
    unit: str | None
    start_time: float | None
    socket_inodes: frozenset[int]
    server: str | None

    @property
    def command(self) -> str:
        """The command line as one string."""
        return " ".join(self.cmdline) or f"[{self.comm}]"


@dataclass(frozen=True)
class Probe:
    """An HTTP or TCP probe made from the host."""

    source: str
    kind: str
    via: str
    endpoint: str
    path: str | None
    host_header: str | None
    status: int | None
    server: str | None
    body_head: str | None
    elapsed: float | None
    error: str | None
    errno: int | None

    @property
    def failed(self) -> bool:
        """No answer, or a 5xx answer."""
        return self.error is not None or (self.status is not None and self.status >= 500)

    @property
    def outcome(self) -> str:
        """`200 OK`-style summary: status (and Server header) or the error text."""
        if self.error:
            return self.error
        if self.kind == "connect":
            return "connected"
        server = f" (Server: {self.server})" if self.server else ""
        return f"HTTP {self.status}{server}"

    @property
    def label(self) -> str:
        """What was probed, as a human reads it."""
        if self.kind == "connect":
            return f"connect {self.endpoint}"
        host = f" Host: {self.host_header}" if self.host_header else ""
        return f"GET {self.endpoint}{self.path or ''}{host}"


@dataclass(frozen=True)
class ImportProbe:
    """The unit's interpreter importing the app target like the server would."""

    unit: str
    interpreter: str
    cwd: str
    module: str
    attr: str
    user: str
    ok: bool
    rc: int | None
    stage: str | None
    exc_type: str | None
    exc_message: str | None
    exc_name: str | None
    stderr: str
    note: str | None
    source: str


@dataclass(frozen=True)
class PythonInfo:
    """The interpreter a unit runs and its version."""

    unit: str
    interpreter: str | None
    version: str | None
    error: str | None


@dataclass(frozen=True)
class EnvFile:
    """An EnvironmentFile/.env: which keys it sets (never the values)."""

    path: str
    exists: bool
    keys: tuple[str, ...]
    error: str | None


@dataclass(frozen=True)
class DirListing:
    """The entry names of a directory (a unit's WorkingDirectory)."""

    path: str
    names: frozenset[str]
    error: str | None


@dataclass(frozen=True)
class UnitFileText:
    """`systemctl cat UNIT`: the unit file and drop-ins as they are on disk now."""

    unit: str
    text: str
    exec_start: tuple[str, ...]
    warnings: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class PathOwner:
    """Owner, group and mode of one path (None when it does not exist or cannot be seen)."""

    path: str
    exists: bool
    uid: int | None
    gid: int | None
    mode: int | None


@dataclass(frozen=True)
class FileStat:
    """A path a service was denied, with each parent directory, nearest first."""

    path: str
    chain: tuple[PathOwner, ...]
    source: str


@dataclass(frozen=True)
class Accounts:
    """User and group names of the host (no secrets: names, ids, group members)."""

    users: Mapping[str, tuple[int, int]]
    groups: Mapping[int, tuple[str, tuple[str, ...]]]

    def user_name(self, uid: int | None) -> str:
        """`app` for 1500, else the number."""
        return next((n for n, (u, _g) in self.users.items() if u == uid), str(uid))

    def group_name(self, gid: int | None) -> str:
        """`app` for 1500, else the number."""
        return self.groups[gid][0] if gid is not None and gid in self.groups else str(gid)

    def gids_of(self, user: str) -> frozenset[int]:
        """The primary and supplementary group ids of a user name."""
        primary = {self.users[user][1]} if user in self.users else set()
        return frozenset(primary | {g for g, (_n, members) in self.groups.items()
                                    if user in members})


@dataclass(frozen=True)
class DatabaseCheck:
    """A database the app is configured to use (from its environment) and what reaching it gave.

    Only host, port, database name and user are kept: never the password or the DSN.
    """

    unit: str
    setting: str
    origin: str
    scheme: str
    host: str | None
    port: int | None
    dbname: str | None
    user: str | None
    connected: bool | None
    connect_error: str | None
    login_driver: str | None
    login_ok: bool | None
    login_error: str | None
    login_note: str | None
    source: str

    @property
    def target(self) -> str:
        """`127.0.0.1:5432/appdb` (as user app)."""
        host = self.host or "localhost"
        return f"{host}:{self.port or 5432}/{self.dbname or ''}"


@dataclass(frozen=True)
class DiskUsage:
    """Space on the filesystem holding a path the app or nginx writes."""

    path: str
    mount_point: str | None
    fstype: str | None
    total: int
    avail: int
    files: int
    favail: int

    @property
    def used_pct(self) -> float:
        """Percent of the blocks in use (as `df` counts, against what users may use)."""
        return 100.0 if self.total <= 0 else round(100.0 * (self.total - self.avail) /
                                                   self.total, 1)


@dataclass(frozen=True)
class OpenFileLimit:
    """A process's `Max open files` and how many descriptors it holds."""

    pid: int
    comm: str
    soft: int | None
    hard: int | None
    open_fds: int | None


@dataclass(frozen=True)
class SystemState:
    """Memory, load, disk space and open-file limits of the host."""

    mem_total_kb: int | None
    mem_available_kb: int | None
    swap_total_kb: int | None
    swap_free_kb: int | None
    load: tuple[float, float, float] | None
    cpus: int | None
    disks: tuple[DiskUsage, ...]
    file_nr: tuple[int, int, int] | None
    limits: tuple[OpenFileLimit, ...]


@dataclass(frozen=True)
class FirewallRule:
    """One packet-filter rule (nft, iptables-save or ufw), reduced to what matters for ports."""

    tool: str
    table: str
    chain: str
    hook: str | None
    verdict: str
    proto: str | None
    ports: tuple[int, ...] | None
    iif: str | None
    iif_negated: bool
    saddr: str | None
    text: str
    where: str


@dataclass(frozen=True)
class ChainPolicy:
    """A base chain's default policy (`policy drop`, `:INPUT DROP`, ufw `Default: deny`)."""

    tool: str
    table: str
    chain: str
    hook: str | None
    policy: str
    where: str


@dataclass(frozen=True)
class FirewallState:
    """The packet filter as the read-only listing commands print it."""

    tools: tuple[str, ...]
    rules: tuple[FirewallRule, ...]
    policies: tuple[ChainPolicy, ...]


@dataclass(frozen=True)
class AvcDenial:
    """One SELinux `avc:  denied` record."""

    permissions: tuple[str, ...]
    comm: str | None
    scontext: str | None
    tcontext: str | None
    tclass: str | None
    dest: int | None
    path: str | None
    permissive: bool
    raw: str
    source: str


@dataclass(frozen=True)
class SelinuxState:
    """Whether SELinux is on, and the denials logged recently."""

    present: bool
    mode: str | None
    denials: tuple[AvcDenial, ...]
    source: str


@dataclass(frozen=True)
class NginxProcess:
    """A running nginx process (master or worker) and when it started (epoch seconds)."""

    pid: int
    ppid: int | None
    role: str
    start_time: float | None
    uid: int | None
    gid: int | None
    groups: tuple[int, ...]


@dataclass(frozen=True)
class FileStamp:
    """A configuration file's modification time (the newer of the file and its symlink)."""

    path: str
    mtime: float | None
    error: str | None


@dataclass(frozen=True)
class PathStat:
    """Mode and owner of a path (a unix socket or a directory above it)."""

    path: str
    kind: str | None
    mode: int | None
    uid: int | None
    gid: int | None
    owner: str | None
    group: str | None
    error: str | None

    @property
    def label(self) -> str:
        """`drwxr-x--- app:app /run/fastapi`, like `ls -ld` says it."""
        if self.error or self.mode is None:
            return f"{self.path}: {self.error}"
        return f"{_mode_text(self.kind, self.mode)} {self.owner}:{self.group} {self.path}"


def _mode_text(kind: str | None, mode: int) -> str:
    first = {"dir": "d", "socket": "s", "symlink": "l"}.get(kind or "", "-")
    bits = "".join(ch if mode & (1 << (8 - i)) else "-" for i, ch in enumerate("rwxrwxrwx"))
    return first + bits


@dataclass(frozen=True)
class NginxUser:
    """The account nginx workers run as (`user` directive) and its groups."""

    name: str
    uid: int | None
    gid: int | None
    groups: tuple[int, ...]
    configured: bool
    error: str | None


@dataclass(frozen=True)
class NginxRuntime:
    """The running nginx: processes and start times, config file mtimes, socket paths."""

    source: str
    now: float | None
    processes: tuple[NginxProcess, ...]
    files: tuple[FileStamp, ...]
    user: NginxUser | None
    sockets: Mapping[str, tuple[PathStat, ...]]

    @property
    def master(self) -> NginxProcess | None:
        """The master process, if running."""
        return next((p for p in self.processes if p.role == "master"), None)

    @property
    def loaded_at(self) -> float | None:
        """When the running configuration was read: the newest worker's start (a reload
        starts new workers), else the master's."""
        workers = [p.start_time for p in self.processes
                   if p.role == "worker" and p.start_time is not None]
        if workers:
            return max(workers)
        master = self.master
        return master.start_time if master else None


@dataclass(frozen=True)
class SupervisorProgram:
    """A supervisord `[program:x]` section and its state from `supervisorctl status`."""

    name: str
    state: str | None  # RUNNING, STARTING, BACKOFF, STOPPED, EXITED, FATAL; None: not known
    status_line: str
    command: str
    directory: str | None
    user: str | None
    environment_keys: tuple[str, ...]
    stdout_logfile: str | None
    stderr_logfile: str | None
    config_file: str
    autostart: bool
    # supervisord.log lines about this program (`spawned:`, `exited:`, `gave up:`), oldest first.
    events: tuple[JournalEntry, ...] = ()

    @property
    def unit(self) -> str:
        """The name the program goes by among units: `supervisor:<name>`."""
        return f"supervisor:{self.name}"


@dataclass(frozen=True)
class SupervisorState:
    """supervisord's programs, from its config files and `supervisorctl status`."""

    programs: tuple[SupervisorProgram, ...]
    config_files: tuple[str, ...]
    status_source: str
    status_error: str | None = None


@dataclass(frozen=True)
class Facts:
    """Everything the rules may read. A field is None when it could not be gathered."""

    host: str
    target_url: str | None
    nginx_config: NginxConfig | None
    nginx_test: NginxTest | None
    nginx_errors: tuple[ErrorLogEntry, ...] | None
    access_log: tuple[AccessLogEntry, ...] | None
    units: tuple[Unit, ...] | None
    journal: tuple[JournalEntry, ...] | None
    tracebacks: tuple[Traceback, ...] | None
    listeners: tuple[Listener, ...] | None
    processes: tuple[Process, ...] | None
    probes: tuple[Probe, ...] | None
    import_probes: tuple[ImportProbe, ...] | None
    pythons: tuple[PythonInfo, ...] | None
    env_files: tuple[EnvFile, ...] | None
    listings: tuple[DirListing, ...] | None
    missing: Mapping[str, str] = field(default_factory=dict)
    unit_files: tuple[UnitFileText, ...] | None = None
    file_stats: tuple[FileStat, ...] | None = None
    accounts: Accounts | None = None
    databases: tuple[DatabaseCheck, ...] | None = None
    system: SystemState | None = None
    firewall: FirewallState | None = None
    selinux: SelinuxState | None = None
    nginx_runtime: NginxRuntime | None = None
    supervisor: SupervisorState | None = None
    # Where TCP listening sockets were looked for (cited when nothing listens somewhere).
    tcp_tables: str = PROC_TCP_TABLES

    def unit(self, name: str) -> Unit | None:
        """Return the unit called name, if known."""
        return next((u for u in self.units or () if u.name == name), None)

    def supervisor_program(self, unit: str) -> SupervisorProgram | None:
        """The supervisor program behind a `supervisor:<name>` unit, if any."""
        return next((p for p in (self.supervisor.programs if self.supervisor else ())
                     if p.unit == unit), None)

    def web_units(self) -> list[Unit]:
        """Units that run a Python web server."""
        return [u for u in self.units or () if u.is_web_app]

    def socket_table(self, target: Endpoint) -> str:
        """Where a listening socket at target would have been seen."""
        return "/proc/net/unix" if target.path else self.tcp_tables

    def listeners_at(self, target: Endpoint) -> list[Listener]:
        """Listeners that would accept a connection to target."""
        return [li for li in self.listeners or () if li.endpoint.accepts(target)]

    def process(self, pid: int) -> Process | None:
        """Return the process with this pid, if seen."""
        return next((p for p in self.processes or () if p.pid == pid), None)

    def journal_of(self, unit: str) -> list[JournalEntry]:
        """Journal entries of one unit, oldest first."""
        return [e for e in self.journal or () if e.unit == unit]

    def tracebacks_of(self, unit: str) -> list[Traceback]:
        """Tracebacks attributed to one unit, oldest first (import probe last)."""
        return [t for t in self.tracebacks or () if t.unit == unit]
