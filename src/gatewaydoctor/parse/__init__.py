"""Raw evidence → typed facts, one declared row per Facts field (engine.py applies them).

A row reads the items under a source key or prefix with a parser of this package; the
few fields built from other fields (supervisor programs joining units and journal,
tracebacks from journal and import probes, listeners from sock_diag or /proc tables)
are steps, the small functions after the table. Rows run in order, so a step sees
the fields above it.
"""

from __future__ import annotations

from dataclasses import replace

from ..evidence import Evidence, Item
from ..facts import (
    PROC_TCP_TABLES,
    Facts,
    HandStarted,
    JournalEntry,
    Listener,
    Namespaces,
    Pm2State,
    Process,
    SkippedSource,
    Traceback,
    Unit,
    url_at_nginx,
)
from ..formats import sources
from . import (
    containers,
    database,
    firewall,
    handstarted,
    namespaces,
    net,
    nginx_config,
    nginx_logs,
    pm2,
    probes,
    python,
    system,
    systemd,
    uwsgi,
)
from . import supervisor as supervisord
from .engine import Build, Collect, One, Row, Step, Whole, apply, one, query_failed, reason


def build_facts(ev: Evidence) -> Facts:
    """Turn an evidence bundle into facts; a fact that cannot be built is None, with a reason."""
    return apply(TABLE, ev)


def _nginx_config(b: Build) -> object:
    """The config from `nginx -T`, or from the files on disk when -T failed."""
    dump, files = b.ev.get(sources.NGINX_DUMP), b.ev.get(sources.NGINX_FILES)
    conf = nginx_config.config_from(dump, files)
    if conf is None:
        b.missing["nginx_config"] = reason([dump, files], "nginx -T")
    return conf


def _nginx_control(b: Build) -> object:
    """How nginx is run (binary, flags, unit, the container it runs in), for the fixes'
    commands."""
    control = nginx_config.control_from(b.ev.get(sources.NGINX_DUMP), b.values.get("processes"),
                                        b.values.get("units"))
    spaces: Namespaces | None = b.values.get("namespaces")
    master = next((p for p in b.values.get("processes") or ()
                   if control is not None and p.pid == control.pid), None)
    box = spaces.container(master.container) if spaces and master else None
    if control is not None and box is not None and box.exec_prefix:
        control = replace(control, inside=box.exec_prefix)
    return control


def _nginx_masters(b: Build) -> object:
    """Every running nginx master, the one serving the request first."""
    return nginx_config.masters_from(b.ev.get(sources.NGINX_DUMP), b.ev.items)


def _no_systemd(b: Build) -> bool:
    """The agent found no systemd as init (then no unit can run anything)."""
    return b.ev.options.get("systemd") is False


def _tested(item: Item) -> bool:
    return item.ok and item.rc is not None


def _unit_list(b: Build) -> object:
    """Without the unit list, "no unit runs it" cannot be told: say why instead."""
    listing = b.ev.get(sources.UNIT_LIST)
    if listing is not None and (listing.error or query_failed(listing)):
        b.missing["units"] = reason([listing], "systemctl", b.euid)
        return None
    return b.values["units"]


def _kernel_journal(b: Build) -> tuple[JournalEntry, ...] | None:
    """The units' journal, and the kernel's after it."""
    journal: tuple[JournalEntry, ...] | None = b.values["journal"]
    kernel = b.ev.get(sources.KERNEL_JOURNAL)
    if kernel is not None and kernel.ok and not query_failed(kernel):
        journal = (journal or ()) + tuple(systemd.journal_entries(kernel, None))
    return journal


def _uwsgi_units(b: Build) -> object:
    """uWSGI units read with their configuration files (socket, module)."""
    units = b.values["units"]
    return uwsgi.with_configs(units, b.ev) if units else units


def _uwsgi_logs(b: Build) -> tuple[JournalEntry, ...] | None:
    """uWSGI's own log files (`logto`) join the journal of the units that name them."""
    journal: tuple[JournalEntry, ...] | None = b.values["journal"]
    found = uwsgi.log_journal(b.ev)
    return (journal or ()) + tuple(found) if found else journal


def _supervisor(b: Build) -> object:
    """supervisord's state; its web programs join the units as `supervisor:<name>` and their
    logs the journal, replacing the stopped systemd units they superseded."""
    state = supervisord.supervisor_state(b.ev)
    if state is None:
        config = b.ev.get(sources.SUPERVISOR_CONFIG)
        if config is not None:
            b.missing["supervisor"] = reason([config], "supervisord config")
        return None
    programs = supervisord.program_units(state)
    if programs:
        units, journal = b.values["units"] or (), b.values["journal"] or ()
        gone = supervisord.superseded(units, programs)
        b.values["units"] = tuple(u for u in units if u.name not in gone) + tuple(programs)
        b.values["journal"] = tuple(e for e in journal if e.unit not in gone) + tuple(
            supervisord.program_journal(b.ev))
        b.superseded |= gone
    return state


def _join(b: Build, services: list[Unit], journal: list[JournalEntry]) -> None:
    """Add services of another manager to the units, and their logs to the journal; the
    stopped systemd units they superseded (same app or port) are left out."""
    if not services:
        return
    units, known = b.values["units"] or (), b.values["journal"] or ()
    gone = supervisord.superseded(tuple(u for u in units if u.manager == "systemd"), services)
    b.values["units"] = tuple(u for u in units if u.name not in gone) + tuple(services)
    b.values["journal"] = tuple(e for e in known if e.unit not in gone) + tuple(journal)
    b.superseded |= gone


def _pm2(b: Build) -> object:
    """pm2's daemons and apps; its web apps join the units as `pm2:<name>`, their out/err
    logs the journal."""
    state = pm2.pm2_state(b.ev)
    if state is not None:
        _join(b, pm2.app_units(b.ev, state), pm2.app_journal(b.ev))
    return state


def _containers(b: Build) -> object:
    """Containers that run a Python web server join the units as `container:<name>`, what
    they printed the journal."""
    _join(b, containers.units(b.ev), containers.journal(b.ev))
    return b.values["units"]


def _hand_started(b: Build) -> object:
    """Servers started by hand join the units as `process:<pid>` (binds: the sockets they
    hold), their output files the journal; the process table then names the service of
    each pm2 app and hand-started server (the link the chain shows)."""
    item = b.ev.get(sources.HAND_PROCESSES)
    found = handstarted.hand_started(item) if item is not None and item.ok else ()
    if item is not None:
        output = handstarted.journal(b.ev)
        _join(b, [handstarted.told(u, output) for u in
                  handstarted.units(found, b.values["listeners"])], output)
    b.values["processes"] = _managed_processes(b, found)
    return found if item is not None else None


def _left_by_hand(b: Build) -> tuple[JournalEntry, ...] | None:
    """A nohup.out left in a server block's root (the agent reads those no running server
    writes to): while no app's web service is up, the server that wrote it joins the units,
    gone, and its lines the journal, so what it died of is told like a unit's."""
    items = [i for i in b.ev.prefixed(sources.HAND_NOHUP_PREFIX) if i.ok]
    if not items:
        return None
    lines = tuple(e for i in items for e in handstarted.nohup_output(i))
    # A process that merely listens (no app it imports: a forgotten debug server) does not
    # stand for the app that wrote the file.
    if not any(u.is_web_app and u.app is not None and u.active_state == "active"
               for u in b.values["units"] or ()):
        _join(b, [handstarted.told(u, list(lines)) for u in
                  handstarted.gone_units([i.path or i.subject for i in items])], list(lines))
    return lines


def _managed_processes(b: Build, found: tuple[HandStarted, ...]) -> tuple[Process, ...] | None:
    """The process table with each pm2 app's and hand-started server's process (and its
    children) named by the service that stands for it."""
    procs: tuple[Process, ...] | None = _in_containers(b)
    state: Pm2State | None = b.values["pm2"]
    roots = {h.pid: h.unit for h in found}
    roots.update({a.pid: a.unit for a in (state.apps if state else ()) if a.pid})
    if procs is None or not roots:
        return procs
    item = b.ev.get(sources.PROCESSES)
    parent = {p.get("pid"): p.get("ppid") for p in
              ((item.data if item is not None else None) or {}).get("processes", [])}

    def owner(pid: int | None, hops: int = 0) -> str | None:
        if pid is None or hops > 8:
            return None
        return roots.get(pid) or owner(parent.get(pid), hops + 1)

    # A pm2 daemon started by `pm2 startup` runs in pm2-<user>.service, and its apps with it:
    # the app, not that unit, is the service a process stands for.
    return tuple(replace(p, unit=unit) if (unit := owner(p.pid)) else p for p in procs)


def _in_containers(b: Build) -> tuple[Process, ...] | None:
    """The process table with each process in a serving container named by the service
    that stands for it (`container:<name>`)."""
    procs: tuple[Process, ...] | None = b.values["processes"]
    spaces: Namespaces | None = b.values["namespaces"]
    names = {u.name for u in b.values["units"] or () if u.manager == "container"}
    boxes = {c.id: sources.container_unit(c.name) for c in (spaces.containers if spaces else ())
             if c.name and sources.container_unit(c.name) in names}
    if procs is None or not boxes:
        return procs
    return tuple(replace(p, unit=boxes[p.container]) if p.container in boxes else p
                 for p in procs)


def _process_table(b: Build) -> str:
    """Where processes were looked for."""
    item = b.ev.get(sources.PROCESSES)
    return (item.path if item is not None else None) or "/proc"


def _listeners(b: Build) -> tuple[Listener, ...] | None:
    """Listening sockets with the pids holding them: TCP from sock_diag (or, in older
    bundles, /proc/net/tcp{,6}), unix from /proc/net/unix."""
    unix = b.ev.get(sources.PROC_NET_UNIX)
    looked, raw, b.values["tcp_tables"] = _tcp_listeners(b.ev, unix)
    if unix is not None and unix.ok:
        raw += net.unix_listeners(unix)
    if not any(i is not None and i.ok for i in looked):
        b.missing["listeners"] = reason(looked, "/proc/net tables")
        return None
    return tuple(net.listeners(raw, b.values["processes"] or ()))


def _namespaces(b: Build) -> Namespaces | None:
    """Other network namespaces and containers; from evidence of agents that did not look
    at namespaces, only the containers the processes' cgroups name."""
    item, listing = b.ev.get(sources.NAMESPACES), b.ev.get(sources.PROCESSES)
    if item is not None and item.ok:
        return namespaces.namespaces_from(item, b.values["processes"] or ())
    if listing is None or not listing.ok:
        b.missing["namespaces"] = "neither namespaces nor processes were gathered"
        return None
    return namespaces.from_listing(listing)


def _tcp_listeners(ev: Evidence, unix: Item | None
                   ) -> tuple[list[Item | None], list[net.RawListener], str]:
    """(the items looked at, the TCP listeners, where they were looked for)."""
    diag = ev.get(sources.TCP_LISTEN)
    if diag is not None and diag.ok:
        return [diag, unix], net.diag_listeners(diag), diag.path or PROC_TCP_TABLES
    tables = [(ev.get(sources.proc_net(proto)), proto) for proto in sources.TCP_TABLES]
    raw = [li for item, proto in tables if item is not None and item.ok
           for li in net.tcp_listeners(item, proto)]
    return [*(item for item, _proto in tables), unix, diag], raw, PROC_TCP_TABLES


def _not_superseded(b: Build) -> object:
    """Import probes of the units a supervisor program replaced are not the app's."""
    found = b.values["import_probes"]
    if found is not None and b.superseded:
        found = tuple(p for p in found if p.unit not in b.superseded)
    return found


def _tracebacks(b: Build) -> tuple[Traceback, ...] | None:
    """Tracebacks in the journal, then those the import probes printed."""
    journal, imports = b.values["journal"], b.values["import_probes"]
    if journal is None and imports is None:
        b.missing["tracebacks"] = "neither the journal nor the import probe could be read"
        return None
    found = python.journal_tracebacks(journal or ())
    for p in imports or ():
        found += python.probe_tracebacks(p)
    return tuple(found)


def _url_name(b: Build) -> object:
    """How the URL's name resolved; where it does not lead to this host and this host's
    nginx was asked for the URL directly, the URL's own probe is not this stack's answer."""
    found = [x for i in b.ev.prefixed(sources.NAME_LOOKUP_PREFIX)
             for x in (probes.name_lookup(i),) if x is not None]
    if not found:
        return None
    lookup = found[0]
    asked = b.values["probes"] or ()
    if not lookup.here and url_at_nginx(b.ev.target_url, asked):
        b.values["probes"] = probes.went_elsewhere(asked)
    return lookup


def _skipped(b: Build) -> tuple[SkippedSource, ...]:
    """What was deliberately not gathered (`--no-exec`)."""
    return tuple(SkippedSource(i.source, i.error or "") for i in b.ev.items.values()
                 if i.error_kind == "skipped")


# One row per Facts field, in the order they are built (host, target_url and taken_at come
# from the evidence itself; `missing` from the rows).
TABLE: tuple[Row, ...] = (
    Step("nginx_config", _nginx_config),
    One("nginx_test", sources.NGINX_TEST, nginx_config.read_test, "nginx -t", usable=_tested),
    One("nginx_runtime", sources.NGINX_RUNTIME, nginx_config.runtime_from, "nginx processes",
        absent=f"{sources.NGINX_RUNTIME} was not gathered"),
    Collect("units", sources.UNIT_SHOW_PREFIX, one(systemd.unit_from)),
    Step("units", _unit_list),
    Step("units", _uwsgi_units),
    Collect("journal", sources.UNIT_JOURNAL_PREFIX, systemd.unit_journal),
    Step("journal", _kernel_journal),
    Step("journal", _uwsgi_logs),
    Step("supervisor", _supervisor, also=("units", "journal")),
    Step("pm2", _pm2, also=("units", "journal")),
    Step("units", _containers, also=("journal",)),
    One("processes", sources.PROCESSES, lambda i: tuple(net.processes(i)), "/proc listing"),
    Step("process_table", _process_table),
    Step("namespaces", _namespaces),
    Step("nginx_control", _nginx_control),
    Step("nginx_masters", _nginx_masters),
    Step("no_systemd", _no_systemd),
    Step("listeners", _listeners, also=("tcp_tables",)),
    Step("hand_started", _hand_started, also=("units", "journal", "processes")),
    Step("nohup_output", _left_by_hand, also=("units", "journal")),
    Collect("import_probes", sources.IMPORT_PROBE_PREFIX, one(python.import_probe)),
    Step("import_probes", _not_superseded),
    Step("tracebacks", _tracebacks),
    Collect("nginx_errors", sources.NGINX_ERROR_LOG_PREFIX, nginx_logs.error_entries,
            absent="no nginx error log was located"),
    Collect("access_log", sources.NGINX_ACCESS_LOG_PREFIX, nginx_logs.access_entries),
    Collect("probes", sources.PROBE_PREFIX, one(probes.probe)),
    Step("url_name", _url_name, also=("probes",)),
    Collect("pythons", sources.PYTHON_VERSION_PREFIX, one(python.python_info)),
    Collect("env_files", sources.ENV_KEYS_PREFIX, one(python.env_file), keep_failed=True),
    Collect("listings", sources.DIR_LISTING_PREFIX, one(python.listing)),
    Collect("unit_files", sources.UNIT_CAT_PREFIX, one(systemd.unit_file_text)),
    Collect("file_stats", sources.PATH_STAT_PREFIX, one(python.file_stat)),
    One("accounts", sources.ACCOUNTS, python.accounts, "accounts", quiet=True),
    Whole("databases", sources.DB_PREFIX, database.checks),
    # not gathered unless a DSN names a local server: its absence needs no explaining
    Step("database_units", lambda b: database.server_units(b.ev)),
    Whole("system", sources.SYS_PREFIX, system.system_state),
    Whole("firewall", sources.FIREWALL_PREFIX, firewall.firewall_state),
    Whole("selinux", sources.SELINUX, system.selinux_state),
    Step("skipped", _skipped),
)
