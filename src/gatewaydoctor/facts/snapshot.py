"""Facts: everything the rules may read, one typed field per domain."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..i18n import N_
from .address import Endpoint
from .database import DatabaseCheck, DatabaseProblem, DatabaseUnit, database_problems
from .files import FileStat
from .host import (
    PROC_TCP_TABLES,
    Accounts,
    Listener,
    Namespaces,
    NetNamespace,
    Process,
    SystemState,
)
from .network import FirewallState, NameLookup, Probe, SelinuxState, url_at_nginx
from .nginx import (
    AccessLogEntry,
    ErrorLogEntry,
    Location,
    NginxConfig,
    NginxControl,
    NginxMaster,
    NginxRuntime,
    NginxTest,
    ServerBlock,
)
from .python import DirListing, EnvFile, ImportProbe, PythonInfo, Traceback
from .routing import location_for, server_for
from .services import (
    APP_ERROR_RE,
    EXITED_RE,
    RESTART_RE,
    START_LIMIT_RE,
    SYSTEMD_EXIT_RE,
    SYSTEMD_REASON_RE,
    HandStarted,
    JournalEntry,
    Pm2App,
    Pm2State,
    SupervisorProgram,
    SupervisorState,
    Unit,
    UnitFileText,
    last_matching,
)
from .signatures import UWSGI_NO_APP_RE, interpreter_of


def _same(message: str) -> str:
    return message


@dataclass(frozen=True)
class SkippedSource:
    """Evidence deliberately not gathered (`--no-exec` skips running the app's Python)."""

    source: str
    reason: str


_DISABLED_RE = re.compile(r"upstream server temporarily disabled")
# Servers whose command is a Python entry script (`/venv/bin/uvicorn`), not a binary.
_PYTHON_SCRIPTS = ("uvicorn", "gunicorn", "hypercorn", "daphne")


# Seconds within which tracebacks belong to one crash (a chained exception, several workers).
CRASH_SPAN = 5.0
# In a log without times, how many of the last tracebacks stand for the newest crash
# (Django's runserver prints the ImportError's, then its ImproperlyConfigured).
CRASH_TRACEBACKS = 2


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
    # the systemd units of the local database servers the apps' DSNs name
    database_units: tuple[DatabaseUnit, ...] | None = None
    system: SystemState | None = None
    firewall: FirewallState | None = None
    selinux: SelinuxState | None = None
    nginx_runtime: NginxRuntime | None = None
    supervisor: SupervisorState | None = None
    nginx_control: NginxControl | None = None
    # Every running nginx master, the serving one (whose configuration is nginx_config) first.
    nginx_masters: tuple[NginxMaster, ...] = ()
    # systemd is not the init system (no units at all), as opposed to units not readable.
    no_systemd: bool = False
    pm2: Pm2State | None = None
    hand_started: tuple[HandStarted, ...] | None = None
    # The lines of a nohup.out left in a server block's root while no hand-started server runs.
    nohup_output: tuple[JournalEntry, ...] | None = None
    # Where TCP listening sockets were looked for (cited when nothing listens somewhere).
    tcp_tables: str = PROC_TCP_TABLES
    # Where processes were looked for (cited when none runs, e.g. no nginx).
    process_table: str = "/proc"
    # What was deliberately not gathered, in the order it was recorded.
    skipped: tuple[SkippedSource, ...] = ()
    taken_at: str = ""  # when the evidence was gathered
    # How the URL's host name resolved from the host (None: no URL, or older evidence).
    url_name: NameLookup | None = None
    # Other network namespaces (containers, PrivateNetwork=) and the containers seen.
    namespaces: Namespaces | None = None

    def unit(self, name: str) -> Unit | None:
        """Return the unit called name, if known."""
        return next((u for u in self.units or () if u.name == name), None)

    def supervisor_program(self, unit: str) -> SupervisorProgram | None:
        """The supervisor program behind a `supervisor:<name>` unit, if any."""
        return next((p for p in (self.supervisor.programs if self.supervisor else ())
                     if p.unit == unit), None)

    def pm2_app(self, unit: str) -> Pm2App | None:
        """The pm2 app behind a `pm2:<name>` unit, if any."""
        return next((a for a in (self.pm2.apps if self.pm2 else ()) if a.unit == unit), None)

    def meant_binds(self, unit: Unit) -> tuple[Endpoint, ...]:
        """Where a unit listens by its command; for a hand-started server that is gone (its
        command lost, its nohup.out in a site's root), where nginx sends that site."""
        if unit.binds or unit.manager != "process" or self.nginx_config is None:
            return unit.binds
        return tuple(self.nginx_config.proxied_from_root(unit.working_directory or "/"))

    def web_units(self) -> list[Unit]:
        """Units that run a Python web server."""
        return [u for u in self.units or () if u.is_web_app]

    def socket_table(self, target: Endpoint) -> str:
        """Where a listening socket at target would have been seen (for nginx in a network
        namespace of its own, that namespace's table: where nginx connects)."""
        if target.path:
            return "/proc/net/unix"
        own = self.nginx_namespace()
        return own.table if own is not None else self.tcp_tables

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

    # Shared predicates: what more than one rule (or the diagnosis) asks of the facts.

    def services_serving(self, target: Endpoint) -> list[Unit]:
        """Web services whose server is configured to bind where target points."""
        return [u for u in self.web_units() if any(b.accepts(target) for b in u.binds)]

    def since_last_start(self, unit: str) -> list[JournalEntry]:
        """The unit's journal from its last `Started`/`Starting` line on (else its last 30).

        In a restart loop that is the last attempt, up to its exit.
        """
        entries = self.journal_of(unit)
        for i in range(len(entries) - 1, -1, -1):
            msg = entries[i].message
            if entries[i].identifier == "systemd" and (msg.startswith("Started ") or
                                                       msg.startswith("Starting ")):
                return entries[i:]
        return entries[-30:]

    def crash_looping(self, u: Unit) -> bool:
        """Restarting again and again: auto-restart now, or restarts still being scheduled."""
        if u.sub_state == "auto-restart":
            return True
        if u.active_state in ("inactive", "failed") or u.n_restarts < 2:
            return False
        if u.manager != "systemd":
            # Its log has no systemd lines to tell the last start from the last exit, and its
            # restart count only grows (pm2): restarted before and not serving now is the
            # loop (pm2 shows `online` for the instant between two crashes).
            return not self._serving(u)
        # systemd's own lines only: uvicorn logs `Started server process` too
        systemd_lines = [e for e in self.journal_of(u.name) if e.identifier == "systemd" and (
            EXITED_RE.search(e.message) or RESTART_RE.search(e.message)
            or e.message.startswith("Started "))]
        # Type=simple units read as active/running for the instant between start and crash;
        # the journal tells whether the last thing that happened was a crash.
        return bool(systemd_lines) and not systemd_lines[-1].message.lstrip().startswith(
            "Started")

    def failing(self, u: Unit | None) -> bool:
        """Tell whether a unit is down or restarting (an unknown unit counts as failing)."""
        if u is None:
            return True
        return not (u.active_state == "active" and u.sub_state == "running") or \
            self.crash_looping(u) or self.fails_at_boot(u) or self.serves_no_app(u)

    def serves_no_app(self, u: Unit) -> bool:
        """Running without its app: uWSGI (without need-app) stays up when the app fails to
        load (plugins/python/pyloader.c) and answers every request 500."""
        return any(UWSGI_NO_APP_RE.search(e.message) for e in self.since_last_start(u.name))

    def fails_at_boot(self, u: Unit) -> bool:
        """Running, but the app failed to import since its last start: gunicorn's master
        stays active for a moment while its workers fail to boot, and nothing answers."""
        since = self.since_last_start(u.name)
        start = since[0].time if since and since[0].identifier == "systemd" else None
        return start is not None and any(
            t.origin == "journal" and t.time is not None and t.time >= start and t.at_import
            for t in self.tracebacks_of(u.name))

    def reason_known(self, u: Unit) -> bool:
        """Tell whether the unit's logs or the import probe say why it exits."""
        if self.tracebacks_of(u.name):
            return True
        if u.exec_main_code in (2, 3) or (u.exec_main_status is not None and
                                          200 <= u.exec_main_status <= 243):
            return True
        for e in self.since_last_start(u.name):
            if e.identifier == "systemd":
                if SYSTEMD_REASON_RE.search(e.message) or SYSTEMD_EXIT_RE.search(e.message):
                    return True
            elif APP_ERROR_RE.search(e.message):
                return True
        return any(p.unit == u.name and p.exc_type for p in self.import_probes or ())

    def gave_up(self, u: Unit) -> JournalEntry | None:
        """systemd's `Start request repeated too quickly`, if it is the unit's latest word."""
        if u.active_state != "failed" and u.result != "start-limit-hit":
            return None
        entries = self.journal_of(u.name)
        hit = last_matching(entries, START_LIMIT_RE)
        if hit is None:
            return None
        later_start = any(e.identifier == "systemd" and e.message.startswith("Started ")
                          and (e.time or 0) > (hit.time or 0) for e in entries)
        return None if later_start else hit

    def latest_traceback(self, unit: str, exc_types: tuple[str, ...]) -> Traceback | None:
        """The unit's newest journal traceback if it ends in one of exc_types, else the
        probe's newest that does.

        What the app dies of now is its newest traceback: an older one of another kind is
        a failure since fixed. And a unit that runs, and has since its last start (not
        failing), left all its journal's tracebacks behind: only the probe's count."""
        mine = self.tracebacks_of(unit)
        known = self.unit(unit)
        journal = [t for t in mine if t.origin == "journal"] if known is None or \
            self.failing(known) or not self._serving(known) else []
        last = journal[-1].time if journal else None
        if last is not None:  # the newest crash: a chained exception prints several
            journal = [t for t in journal if t.time is not None and last - t.time <= CRASH_SPAN]
        else:  # a log without times (pm2's, nohup.out): the last two stand for the crash
            journal = journal[-CRASH_TRACEBACKS:]
        matching = [t for t in journal if t.exc_type.split(".")[-1] in exc_types]
        if matching:
            return matching[-1]
        probe = [t for t in mine if t.origin != "journal"
                 and t.exc_type.split(".")[-1] in exc_types]
        return probe[-1] if probe else None

    def _serving(self, u: Unit) -> bool:
        """Something listens where the unit's server binds (Django's autoreloader, say,
        runs on while the server it starts died at import); where its binds are not known,
        one of its processes listens (a unit caught between its start and its crash does
        not)."""
        binds = self.meant_binds(u)
        if binds:
            return all(self.listeners_at(b) for b in binds)
        if self.listeners is None or self.processes is None:
            return True  # not gathered: its manager's state alone says it
        mine = {p.pid for p in self.processes if p.unit == u.name}
        return any(set(li.pids) & mine for li in self.listeners)

    def tracebacks_by_unit(self) -> dict[str, list[Traceback]]:
        """Tracebacks grouped by unit (unit-less ones are dropped)."""
        out: dict[str, list[Traceback]] = {}
        for t in self.tracebacks or ():
            if t.unit:
                out.setdefault(t.unit, []).append(t)
        return out

    def python_of(self, unit: Unit) -> str:
        """The interpreter the unit runs, for fix commands."""
        if unit.venv:
            return f"{unit.venv.rstrip('/')}/bin/python"
        for info in self.pythons or ():
            if info.unit == unit.name and info.interpreter:
                return info.interpreter
        for probe in self.import_probes or ():
            if probe.unit == unit.name:
                return probe.interpreter
        if not unit.exec_start:  # a gone hand-started server: where its traceback ran
            ran = (interpreter_of(t.text) for t in reversed(self.tracebacks_of(unit.name)))
            return next((p for p in ran if p), "python3")
        first = unit.exec_start[0][0] if unit.exec_start[0] else "python3"
        folder, _, name = first.rpartition("/")
        if unit.server in _PYTHON_SCRIPTS and name == unit.server and folder.endswith("/bin"):
            return f"{folder}/python"  # a venv's entry script: the venv's python beside it
        return first

    def answered_by(self, p: Probe, tr: Callable[[str], str] = _same) -> str:
        """Which layer produced this probe's answer: nginx itself, the app, or something else.

        English for evidence; `tr=_` in the reader's language (the chain's URL hop).
        """
        if p.status is None:
            return tr(N_("nobody answered"))
        if p.via == "upstream":
            return tr(N_("the app at {endpoint}")).format(endpoint=p.endpoint)
        server = (p.server or "").lower()
        if not server.startswith("nginx"):
            owner = self.owner_at(p.endpoint)
            said = (tr(N_("the Server header says {server}")).format(server=repr(p.server))
                    if p.server else tr(N_("no nginx Server header")))
            if owner:
                return tr(N_("not nginx ({said}): {owner}")).format(said=said, owner=owner)
            return tr(N_("not nginx ({said})")).format(said=said)
        if p.status >= 400 and p.body_head and "<center>nginx" in p.body_head:
            return tr(N_("nginx itself (its own error page)"))
        return tr(N_("the app, relayed by nginx"))

    def owner_at(self, endpoint: str) -> str | None:
        """The process listening at a `host:port`, as `comm (pid N) listens at ...`."""
        for li in self.listeners_at(Endpoint.parse(endpoint)):
            for pid in li.pids[:1]:
                proc = self.process(pid)
                if proc is not None:
                    return f"{proc.comm} (pid {proc.pid}) listens at {li.endpoint.label}"
        return None

    # database

    def database_problems(self) -> list[DatabaseProblem]:
        """Each service's trouble with its database (unreachable, auth, not_found)."""
        return database_problems(self)

    def restart_command_of(self, name: str) -> str:
        """How to restart the service called name (with systemctl when it is not known)."""
        service = self.unit(name)
        return service.restart_command if service else f"systemctl restart {name}"
    # rules/nginx and rules/upstream (limits, buffers, timeouts): where a request went.

    def place(self, entry: ErrorLogEntry) -> tuple[ServerBlock | None, Location | None]:
        """The server block and location the request of an nginx error-log line went
        through (None, None without a configuration or a request)."""
        config, path = self.nginx_config, entry.request_path
        if config is None or path is None:
            return None, None
        loc = location_for(config, path, _host_as_served(config, entry))
        server = config.server_of(loc) if loc is not None else server_for(config, entry.host)
        return server, loc

    def url_probe(self) -> Probe | None:
        """The probe of the URL the user gave, if any; where its name does not lead to this
        host, the request this host's nginx was asked for the URL (one that answered first)."""
        if self.url_elsewhere():
            asked = self.url_at_nginx()
            return next((p for p in asked if not p.failed), asked[0])
        return next((p for p in self.probes or () if p.via == "url"), None)

    def url_at_nginx(self) -> list[Probe]:
        """The URL's path requested from this host's nginx with the URL's Host, at each
        listen of the server block that serves its name (made whatever the name resolves
        to; none in evidence older than these requests)."""
        return url_at_nginx(self.target_url, self.probes or ())

    def url_elsewhere(self) -> bool:
        """The URL's name does not lead to this host (it does not resolve here, or only to
        other machines') while this host's nginx was asked for the URL directly."""
        return self.url_name is not None and not self.url_name.here and \
            bool(self.url_at_nginx())
    # Service rules (rules/service).

    def gateway_units(self) -> list[Unit]:
        """The systemd units on the request path: web apps and nginx (supervisor programs
        have a rule of their own)."""
        return [u for u in self.units or () if u.manager == "systemd" and (
            u.is_web_app or self._runs_this_nginx(u))]

    def _runs_this_nginx(self, unit: Unit) -> bool:
        """The unit runs (or would start) the nginx of this host: the master's unit, or the
        one whose own -c was read (none when it runs by hand or from an init script); with
        neither known, a unit named nginx*."""
        control = self.nginx_control
        if control is not None:
            return control.unit is not None and unit.name == f"{control.unit}.service"
        return unit.name.startswith("nginx") and not self.nginx_runs_outside(unit)

    def units_unknown(self) -> bool:
        """systemd runs, but its units could not be read (not: there is no systemd)."""
        return self.units is None and not self.no_systemd

    def who(self, pid: int) -> str:
        """A process as evidence names it: `pid 12 (its command, its unit, user app)`."""
        p = self.process(pid)
        if p is None:
            return f"pid {pid}"
        user = self.accounts.user_name(p.uid) if self.accounts and p.uid is not None else p.uid
        cmd = p.command.replace("\n", "; ")
        cmd = cmd if len(cmd) <= 100 else cmd[:97] + "..."
        return f"pid {p.pid} ({cmd}{f', {p.unit}' if p.unit else ''}, user {user})"

    def is_nginx_master(self, p: Process) -> bool:
        """An nginx master: by its title, or found by the agent from the listening sockets
        it holds (`master_process off`, a title that does not say nginx)."""
        return p.command.startswith("nginx: master process") or \
            any(m.pid == p.pid for m in self.nginx_masters)

    def nginx_runs_outside(self, unit: Unit) -> bool:
        """An nginx master runs, but not under `unit`: another unit, a panel or a shell
        started the nginx that serves (the packaged nginx.service stopped beside it is no
        fault)."""
        return any(self.is_nginx_master(p) and p.unit != unit.name
                   for p in self.processes or ())

    def logged_traceback(self, unit: str) -> Traceback | None:
        """A service's last traceback: from its logs, else from the import probe."""
        tbs = self.tracebacks_of(unit)
        logged = [t for t in tbs if t.origin == "journal"] or tbs
        return logged[-1] if logged else None

    def nohup_error(self, path: str) -> JournalEntry | None:
        """The last line of a nohup.out (left by a server that died) saying what went wrong."""
        return next((e for e in reversed(self.nohup_output or ())
                     if e.source.startswith(path) and APP_ERROR_RE.search(e.message)), None)

    def probe_error(self, unit: str) -> str | None:
        """The exception the import probe reproduced for a service (`Type: message`)."""
        return next((f"{ip.exc_type}: {ip.exc_message}" for ip in self.import_probes or ()
                     if ip.unit == unit and ip.exc_type), None)

    def exit_reason(self, u: Unit) -> tuple[str | None, str | None]:
        """What says why the unit exits: (the last error line it printed, else None;
        systemd's `Main process exited` message when it printed none, else None)."""
        tbs = self.tracebacks_of(u.name)
        if tbs:
            return tbs[-1].last_line, None
        exited = last_matching(self.journal_of(u.name), EXITED_RE)
        return None, exited.message if exited else None
    # app, config and permission rules: a service known by the name its tracebacks carry.

    def tracebacks_latest_first(self, unit: str) -> list[Traceback]:
        """The unit's journal tracebacks, newest first, then the import probe's."""
        tbs = self.tracebacks_of(unit)
        return [t for t in tbs if t.origin == "journal"][::-1] + \
            [t for t in tbs if t.origin != "journal"]
    # proxy_pass targets (upstream-not-listening, upstream-mismatch)

    def dead_targets(self) -> list[tuple[Endpoint, list[tuple[ServerBlock, Location]]]]:
        """proxy_pass targets on this host where nothing listens, with the locations."""
        targets = self.nginx_config.targets() if self.nginx_config else {}
        own = self.nginx_namespace()
        # nginx in a namespace of its own (a container) connects within it: a TCP target
        # is alive only if something listens there, whatever listens on the host.
        return [(ep, uses) for ep, uses in targets.values()
                if ep.on_this_host and not (
                    any(li.endpoint.accepts(ep) for li in own.listeners)
                    if own is not None and ep.path is None
                    else self.listeners_at(ep) or self._connected(ep))]

    def _connected(self, ep: Endpoint) -> bool:
        """The agent's TCP connect to ep succeeded: something accepts there though no socket
        listens in this namespace (a port a container runtime forwards with NAT)."""
        return any(p.kind == "connect" and p.endpoint == ep.label and p.error is None
                   for p in self.probes or ())

    def listening_elsewhere(self, ep: Endpoint, netns: str) -> tuple[Listener, Process] | None:
        """A listener at ep's port, on loopback or every address, held by a process in a
        network namespace other than netns (the host's, or a container's)."""
        others = self.namespaces.others if self.namespaces else ()
        for listeners in [self.listeners or (), *(n.listeners for n in others)]:
            for li in listeners:
                if li.endpoint.port != ep.port or not li.endpoint.on_this_host:
                    continue
                procs = [p for pid in li.pids if (p := self.process(pid)) is not None]
                app = next((p for p in procs if p.netns and p.netns != netns), None)
                if app is not None:
                    return li, app
        return None

    def connect_failures(self, ep: Endpoint) -> list[ErrorLogEntry]:
        """nginx's error-log lines about connecting to ep, oldest first: the failures
        themselves, not what nginx concluded from them (`upstream server temporarily
        disabled`, and `no live upstreams`, which names the upstream group, not ep)."""
        needle = f"unix:{ep.path}" if ep.path else f"//{ep.label}"
        return [e for e in self.nginx_errors or ()
                if ((e.upstream and needle in e.upstream) or (ep.path and ep.path in e.message))
                and not _DISABLED_RE.search(e.message)]

    def refused_at(self, ep: Endpoint) -> list[ErrorLogEntry]:
        """nginx's error-log lines of connections to ep refused (111), oldest first."""
        return [e for e in self.connect_failures(ep) if "(111: " in e.message]

    def nginx_master(self) -> Process | None:
        """The serving nginx master's process, if it runs."""
        pid = self.nginx_control.pid if self.nginx_control else None
        return self.process(pid) if pid else None

    def since_reload(self, entries: list[ErrorLogEntry]) -> list[ErrorLogEntry]:
        """The error-log lines written by nginx workers that still run: a reload or restart
        replaces every worker, so a line of a worker that is gone was written under the
        configuration before it. All of them when that cannot be told (no process table,
        nginx in a pid namespace of its own, no worker seen)."""
        control = self.nginx_control
        if self.processes is None or control is None or control.inside:
            return entries
        workers = {p.pid for p in self.processes
                   if p.cmdline[:1] and p.cmdline[0].startswith("nginx: worker process")}
        if not workers:
            return entries
        return [e for e in entries if e.pid in workers]

    def nginx_namespace(self) -> NetNamespace | None:
        """The network namespace the serving nginx master runs in, when it is not the one
        the evidence was gathered in (and its listening sockets were read)."""
        proc = self.nginx_master()
        return self.namespaces.foreign(proc.netns) if proc and self.namespaces else None


def _host_as_served(config: NginxConfig, entry: ErrorLogEntry) -> str | None:
    """The Host of an error-log line with the port of the server block nginx names in it
    (`server: NAME`): a Host without a port (curl, most clients on :80) would otherwise be
    routed on port 80, not on the port that took the request (the uwsgi stack's :8088)."""
    host = entry.host
    if not host or not entry.server or host.endswith("]") or ":" in host:
        return host
    ports = {li.endpoint.port for s in config.servers if entry.server in s.names
             for li in s.listens if li.endpoint.port}
    return f"{host}:{ports.pop()}" if len(ports) == 1 else host
