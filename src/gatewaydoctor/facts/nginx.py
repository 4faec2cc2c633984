"""The nginx configuration as dumped, its `nginx -t` verdict, its logs and its processes."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ..findings import Excerpt, Link
from .address import Endpoint
from .files import PathStat


@dataclass(frozen=True)
class Listen:
    """One `listen` directive of a server block."""

    endpoint: Endpoint
    ssl: bool
    default_server: bool
    raw: str
    where: str = ""  # file:line of the directive


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

    # rules/nginx rate-limited: a `key=value` argument.
    def arg(self, prefix: str) -> str | None:
        """The first argument starting with prefix (`rate=` → `rate=1r/s`), if any."""
        return next((a for a in self.args if a.startswith(prefix)), None)


# Directives that hand a request to a content handler (a backend, Lua, a module's page).
PASS_KINDS = {"proxy_pass": "proxy", "uwsgi_pass": "uwsgi", "grpc_pass": "grpc",
              "fastcgi_pass": "fastcgi", "scgi_pass": "scgi", "memcached_pass": "memcached"}
HANDLER_KINDS = {**PASS_KINDS, "content_by_lua": "lua", "content_by_lua_block": "lua",
                 "content_by_lua_file": "lua", "empty_gif": "empty_gif",
                 "stub_status": "stub_status", "echo": "echo"}
# What a nested location does not take from its parent (nginx does not merge these).
NOT_INHERITED = frozenset({*HANDLER_KINDS, "internal", "try_files", "rewrite", "return", "set",
                           "break", "proxy_pass"})
# The rewrite module's directives, run in the order written (with `if` blocks between).
SCRIPT = frozenset({"rewrite", "return", "set", "break", "rewrite_by_lua",
                    "rewrite_by_lua_block", "rewrite_by_lua_file"})


@dataclass(frozen=True)
class IfBlock:
    """An `if (condition) { … }` block: its condition and the simple directives inside."""

    args: tuple[str, ...]
    file: str
    line: int
    body: tuple[NginxDirective, ...] = ()

    @property
    def where(self) -> str:
        """`file:line` of the if."""
        return f"{self.file}:{self.line}"

    @property
    def condition(self) -> str:
        """The condition as written, without parentheses."""
        return " ".join(self.args).strip("()").strip()

    @property
    def handler(self) -> NginxDirective | None:
        """The handler (proxy_pass, uwsgi_pass…) set inside the if, if any."""
        return next((d for d in self.body if d.name in HANDLER_KINDS), None)


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
    # Routing (facts/routing.py): nesting, the rewrite-phase script in order, the handler.
    depth: int = 0
    nested: tuple[Location, ...] = ()
    script: tuple[NginxDirective | IfBlock, ...] = ()
    handler: NginxDirective | None = None

    @property
    def named(self) -> bool:
        """A named location (`location @app`), reached only by internal redirects."""
        return self.path.startswith("@")

    @property
    def internal(self) -> bool:
        """`internal;`: external requests get 404."""
        return any(d.name == "internal" for d in self.directives)

    @property
    def handler_kind(self) -> str:
        """proxy, uwsgi, grpc, fastcgi, scgi, lua… or static (root/alias)."""
        return HANDLER_KINDS[self.handler.name] if self.handler else "static"

    @property
    def where(self) -> str:
        """`file:line` of the location block."""
        return f"{self.file}:{self.line}"

    @property
    def pass_name(self) -> str:
        """The directive that names `proxy_pass`'s target here: proxy_pass or uwsgi_pass."""
        return "uwsgi_pass" if self.handler and self.handler.name == "uwsgi_pass" else \
            "proxy_pass"

    def pass_to(self, address: str) -> str:
        """That directive pointed at address (`host:port` or `unix:/path`), as written."""
        if self.pass_name == "uwsgi_pass":
            return f"uwsgi_pass {address}"
        return f"proxy_pass http://{address}"

    # proxy_pass targets (upstream-not-listening, upstream-mismatch, upstream-address-family)

    @property
    def excerpt(self) -> Excerpt:
        """The block reduced to where it proxies: `location /api/ { proxy_pass ...; }`."""
        return Excerpt(self.where,
                       f"location {self.path} {{ {self.pass_name} {self.proxy_pass}; }}")

    @property
    def link(self) -> Link:
        """A link to this location on the request path."""
        return Link("location", f"{self.path} {self.where}")


@dataclass(frozen=True)
class ServerBlock:
    """A `server {}` block in the http context."""

    file: str
    line: int
    listens: tuple[Listen, ...]
    names: tuple[str, ...]
    locations: tuple[Location, ...]
    directives: tuple[NginxDirective, ...] = ()
    # Routing: the rewrite-phase script of the server block, in order.
    script: tuple[NginxDirective | IfBlock, ...] = ()

    @property
    def where(self) -> str:
        """`file:line` of the server block."""
        return f"{self.file}:{self.line}"

    @property
    def top_locations(self) -> tuple[Location, ...]:
        """The locations written directly in the server block (nested ones are inside)."""
        return tuple(loc for loc in self.locations if loc.depth == 0)

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

    def proxied_locations(self) -> list[tuple[ServerBlock, Location]]:
        """Every (server, location) pair that has a proxy_pass."""
        return [(s, loc) for s in self.servers for loc in s.locations if loc.proxy_pass]

    def proxied_from_root(self, folder: str) -> list[Endpoint]:
        """The TCP addresses a server block whose `root` is folder proxies to: where the app
        that lives there (a site's folder, as panels lay it out) is meant to listen."""
        rooted = [s for s in self.servers if any(
            d.name == "root" and d.args and d.args[0].rstrip("/") == folder.rstrip("/")
            for d in s.directives)]
        return [ep for s in rooted for loc in s.locations if loc.proxy_pass
                for ep in loc.endpoints if ep.path is None and ep.port is not None]

    # rules/nginx and rules/upstream (limits, buffers, timeouts): a setting cited as evidence.
    def in_force(self, name: str, server: ServerBlock | None, location: Location | None,
                 default: str) -> tuple[str, Excerpt]:
        """The value of a directive in force at a location and where it is set, else nginx's
        default and where it would be set."""
        d = self.setting(name, server, location)
        if d is not None:
            return " ".join(d.args), Excerpt(d.where, d.text)
        where = location.where if location is not None else "the configuration"
        return default, Excerpt(where, f"{name} not set: nginx's default {default} applies")

    # rules/nginx rate-limited: which limit_req / limit_conn zone applies where.
    def limit_at(self, directive: str, zone: str, server: ServerBlock | None,
                 location: Location | None) -> NginxDirective | None:
        """The `limit_req`/`limit_conn` naming zone in force at a location."""
        here = [*(location.directives if location else ()),
                *(server.directives if server else ()),
                *(d for d in self.globals if d.context == "http")]
        return next((d for d in here if d.name == directive
                     and (f"zone={zone}" in d.args or d.args[:1] == (zone,))), None)

    def zone_definition(self, directive: str, zone: str) -> NginxDirective | None:
        """The `limit_req_zone`/`limit_conn_zone` that defines zone."""
        return next((d for d in self.globals if d.name == directive
                     and any(a.startswith(f"zone={zone}:") for a in d.args)), None)

    # proxy_pass targets (upstream-not-listening, upstream-mismatch, upstream-address-family)

    def targets(self) -> dict[str, tuple[Endpoint, list[tuple[ServerBlock, Location]]]]:
        """Each endpoint proxy_pass points at, by label, with the locations that point there."""
        out: dict[str, tuple[Endpoint, list[tuple[ServerBlock, Location]]]] = {}
        for server, loc in self.proxied_locations():
            for ep in loc.endpoints:
                out.setdefault(ep.label, (ep, []))[1].append((server, loc))
        return out


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


_SYSTEM_BIN = ("", "/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin")


@dataclass(frozen=True)
class NginxControl:
    """How this host's nginx is run: its binary with the -p/-c/-g/-e it was started with,
    and the systemd unit that runs it (or would start it), so fixes name the right ones."""

    argv: tuple[str, ...]
    unit: str | None
    source: str
    pid: int | None = None  # the running master's
    # How to run a command where it runs, for nginx in a container (`podman exec proxy`,
    # `nsenter -t 25 -m --`); None on the host.
    inside: str | None = None

    @property
    def _nginx(self) -> str:
        """The command as a user types it: plain `nginx` for the packaged binary, and no
        `-g` that only repeats the defaults (Debian's unit passes `daemon on;
        master_process on;`)."""
        argv = list(self.argv)
        if "-g" in argv[:-1]:
            at = argv.index("-g")
            settings = [d.strip() for d in argv[at + 1].split(";") if d.strip()]
            if all(d.split()[0] in ("daemon", "master_process") for d in settings):
                del argv[at:at + 2]
        folder, _, name = argv[0].rpartition("/") if argv else ("", "", "")
        if name == "nginx" and folder in _SYSTEM_BIN:
            argv[0] = "nginx"
        return f"{self.inside} {shlex.join(argv)}" if self.inside else shlex.join(argv)

    @property
    def test_command(self) -> str:
        return f"{self._nginx} -t"

    @property
    def reload_command(self) -> str:
        return f"systemctl reload {self.unit}" if self.unit else f"{self._nginx} -s reload"

    @property
    def start_command(self) -> str:
        return f"systemctl start {self.unit}" if self.unit else self._nginx

    @property
    def restart_command(self) -> str:
        return (f"systemctl restart {self.unit}" if self.unit
                else f"{self._nginx} -s quit; {self._nginx}")


@dataclass(frozen=True)
class NginxMaster:
    """A running nginx master: its binary and flags, the sockets it listens on, whether it
    is the one that serves the request (its configuration is nginx_config), and the key of
    its own `nginx -T`."""

    pid: int | None
    argv: tuple[str, ...]  # binary, -p, -c, -e, -g as it was started
    conf: str | None
    ports: tuple[str, ...]  # listening sockets it holds (`127.0.0.1:8080`)
    found_by: str | None  # "title" or "sockets" (its title says otherwise)
    serving: bool
    why: str | None  # why this master serves the request (the serving one's)
    source: str | None  # its `nginx -T` (nginx.dump for the serving one)
    dump_ok: bool | None  # that -T passed

    @property
    def command(self) -> str:
        """How it was started, as a user types it."""
        return shlex.join(self.argv)


# The packaged nginx, when how it is run is not known.
PACKAGED_NGINX = NginxControl(argv=("nginx",), unit="nginx", source="")


def nginx_commands(control: NginxControl | None) -> dict[str, str]:
    """The placeholders every rule's fix may use: {nginx_test}, {nginx_reload}, ..."""
    c = control or PACKAGED_NGINX
    return {"nginx_test": c.test_command, "nginx_reload": c.reload_command,
            "nginx_start": c.start_command, "nginx_restart": c.restart_command}


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

    # rules/nginx and rules/upstream (limits, buffers, timeouts): what the line names.
    @property
    def excerpt(self) -> Excerpt:
        """This line as an evidence line."""
        return Excerpt(self.where, self.raw)

    @property
    def request_path(self) -> str | None:
        """The path of the logged request (`GET /docs HTTP/1.1` → `/docs`)."""
        parts = (self.request or "").split()
        return parts[1] if len(parts) > 1 else None

    @property
    def upstream_label(self) -> str | None:
        """`http://127.0.0.1:8000/api` → `127.0.0.1:8000`; `http://unix:/a.sock:/x` →
        `unix:/a.sock`."""
        url = self.upstream
        if not url or "://" not in url:
            return None
        rest = url.split("://", 1)[1]
        if rest.startswith("unix:"):
            return "unix:" + rest[5:].split(":", 1)[0]
        return rest.split("/", 1)[0]


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
    def epoch(self) -> float | None:
        """Its time ($time_local) in seconds since the epoch, if it reads as one."""
        try:
            return datetime.strptime(self.time, "%d/%b/%Y:%H:%M:%S %z").timestamp()
        except ValueError:
            return None

    @property
    def path(self) -> str:
        """The request path (`/api/health`)."""
        parts = self.request.split()
        return parts[1] if len(parts) > 1 else ""


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


# rules/nginx and rules/upstream (limits, buffers, timeouts): a finding's place on the path.
def place_links(server: ServerBlock | None, location: Location | None,
                upstream: bool = True) -> tuple[Link, ...]:
    """Links to a server block, its location and (unless nginx answered before the upstream)
    where the location proxies to."""
    links: list[Link] = []
    if server is not None:
        links.append(Link("server", server.label))
    if location is not None:
        links.append(Link("location", f"{location.path} {location.where}"))
        if upstream:
            links += [Link("upstream", ep.label) for ep in location.endpoints]
    return tuple(links)
