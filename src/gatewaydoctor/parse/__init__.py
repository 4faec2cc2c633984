"""Raw evidence → typed facts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from ..evidence import Evidence, Item
from ..facts import PROC_TCP_TABLES, Accounts, Facts, Listener, Traceback
from . import database, firewall, net, nginx_config, nginx_logs, probes, python, system, systemd
from . import supervisor as supervisord

T = TypeVar("T")
U = TypeVar("U")


def one(make: Callable[[Item], U | None]) -> Callable[[Item], list[U]]:
    """Adapt a one-fact parser to collect(): None becomes no fact."""
    return lambda item: [x for x in (make(item),) if x is not None]


# Commands whose non-zero exit with no output means "could not look", not "looked and
# found": systemctl without a bus or as a user, journalctl without journal access.
_QUERY_PREFIXES = ("systemd.", "journal.")


def _query_failed(item: Item) -> bool:
    return (item.source.startswith(_QUERY_PREFIXES) and item.rc not in (0, None)
            and not (item.stdout or "").strip())


def _reason(items: Iterable[Item | None], what: str, euid: int | None = None) -> str:
    reasons = [f"{i.label()}: {i.error}" for i in items if i is not None and i.error]
    reasons += [f"{i.label()}: {(i.stderr or '').strip().splitlines()[0]}"
                for i in items if i is not None and not i.error and _query_failed(i)
                and (i.stderr or "").strip()]
    reason = "; ".join(dict.fromkeys(reasons)) or f"{what} was not gathered"
    if euid not in (0, None) and reasons:
        reason += " (run as root to see this)"
    return reason


def build_facts(ev: Evidence) -> Facts:
    """Turn an evidence bundle into facts; a fact that cannot be built is None, with a reason."""
    missing: dict[str, str] = {}
    euid = ev.options.get("euid")

    def collect(prefix: str, make: Callable[[Item], Iterable[T]], what: str,
                keep_failed: bool = False) -> tuple[T, ...] | None:
        items = list(ev.prefixed(prefix))
        good = items if keep_failed and items else [
            i for i in items if i.ok and not _query_failed(i)]
        if not good:
            missing[what] = _reason(items, what, euid) if items else f"no {prefix}* evidence"
            return None
        return tuple(x for i in good for x in make(i))

    dump, files, test = ev.get("nginx.dump"), ev.get("nginx.files"), ev.get("nginx.test")
    nginx_conf = nginx_config.config_from(dump, files)
    if nginx_conf is None:
        missing["nginx_config"] = _reason([dump, files], "nginx -T")
    nginx_test = None
    if test is not None and test.ok and test.rc is not None:
        nginx_test = nginx_config.read_test(test)
    else:
        missing["nginx_test"] = _reason([test], "nginx -t")
    runtime_item = ev.get("nginx.runtime")
    nginx_runtime = (nginx_config.runtime_from(runtime_item)
                     if runtime_item is not None and runtime_item.ok else None)
    if nginx_runtime is None:
        missing["nginx_runtime"] = (_reason([runtime_item], "nginx processes")
                                    if runtime_item else "nginx.runtime was not gathered")

    units = collect("systemd.show:", one(systemd.unit_from), "units")
    listing = ev.items.get("systemd.units")
    if listing is not None and (listing.error or _query_failed(listing)):
        # Without the unit list, "no unit runs it" cannot be told: say why instead.
        units = None
        missing["units"] = _reason([listing], "systemctl", euid)
    journal = collect("journal.unit:", lambda i: systemd.journal_entries(i, i.subject), "journal")
    kernel = ev.get("journal.kernel")
    if kernel is not None and kernel.ok and not _query_failed(kernel):
        journal = (journal or ()) + tuple(systemd.journal_entries(kernel, None))

    superseded_units: set[str] = set()
    # supervisord's web programs join the units as `supervisor:<name>`, their logs the journal.
    sup = supervisord.supervisor_state(ev)
    if sup is not None:
        programs = supervisord.program_units(sup)
        if programs:
            # A stopped, disabled unit the program replaced is not what serves the site.
            gone = supervisord.superseded(units or (), programs)
            units = tuple(u for u in units or () if u.name not in gone) + tuple(programs)
            journal = tuple(e for e in journal or () if e.unit not in gone) + tuple(
                supervisord.program_journal(ev))
            superseded_units |= gone
    elif ev.get("supervisor.config") is not None:
        missing["supervisor"] = _reason([ev.get("supervisor.config")], "supervisord config")

    procs_item = ev.get("proc.processes")
    procs = net.processes(procs_item) if procs_item is not None and procs_item.ok else None
    if procs is None:
        missing["processes"] = _reason([procs_item], "/proc listing")
    # TCP listeners from sock_diag, or (older bundles, no netlink) from /proc/net/tcp{,6}.
    diag, unix = ev.get("net.tcp_listen"), ev.get("proc.net.unix")
    if diag is not None and diag.ok:
        net_items = [diag, unix]
        raw_listeners = net.diag_listeners(diag)
        tcp_tables = diag.path or PROC_TCP_TABLES
    else:
        tables = [(ev.get(f"proc.net.{proto}"), proto) for proto in ("tcp", "tcp6")]
        net_items = [*(item for item, _proto in tables), unix, diag]
        raw_listeners = [li for item, proto in tables if item is not None and item.ok
                         for li in net.tcp_listeners(item, proto)]
        tcp_tables = PROC_TCP_TABLES
    if unix is not None and unix.ok:
        raw_listeners += net.unix_listeners(unix)
    listeners: tuple[Listener, ...] | None = None
    if any(i is not None and i.ok for i in net_items):
        listeners = tuple(net.listeners(raw_listeners, procs or []))
    else:
        missing["listeners"] = _reason(net_items, "/proc/net tables")

    import_probes = collect("python.import:", one(python.import_probe), "import_probes")
    if import_probes is not None and superseded_units:
        import_probes = tuple(p for p in import_probes if p.unit not in superseded_units)
    tracebacks: tuple[Traceback, ...] | None = None
    if journal is not None or import_probes is not None:
        tbs = python.journal_tracebacks(journal or ())
        for p in import_probes or ():
            tbs += python.probe_tracebacks(p)
        tracebacks = tuple(tbs)
    else:
        missing["tracebacks"] = "neither the journal nor the import probe could be read"

    error_items = list(ev.prefixed("nginx.error_log:"))
    nginx_errors = collect("nginx.error_log:", nginx_logs.error_entries, "nginx_errors")
    access = collect("nginx.access_log:", nginx_logs.access_entries, "access_log")
    if not error_items:
        missing["nginx_errors"] = "no nginx error log was located"

    return Facts(
        host=ev.host,
        target_url=ev.target_url,
        nginx_config=nginx_conf,
        nginx_test=nginx_test,
        nginx_errors=nginx_errors,
        access_log=access,
        units=units,
        journal=journal,
        tracebacks=tracebacks,
        listeners=listeners,
        processes=tuple(procs) if procs is not None else None,
        probes=collect("probe.", one(probes.probe), "probes"),
        import_probes=import_probes,
        pythons=collect("python.version:", one(python.python_info), "pythons"),
        env_files=collect("env.keys:", one(python.env_file), "env_files", keep_failed=True),
        listings=collect("fs.listing:", one(python.listing), "listings"),
        missing=missing,
        unit_files=collect("systemd.cat:", one(systemd.unit_file_text), "unit_files"),
        file_stats=collect("fs.stat:", one(python.file_stat), "file_stats"),
        accounts=_accounts(ev),
        databases=_noted(database.checks(ev), "databases", missing, ev, "db."),
        system=_noted(system.system_state(ev), "system", missing, ev, "sys."),
        firewall=_noted(firewall.firewall_state(ev), "firewall", missing, ev, "firewall."),
        selinux=_noted(system.selinux_state(ev), "selinux", missing, ev, "security.selinux"),
        nginx_runtime=nginx_runtime,
        supervisor=sup,
        tcp_tables=tcp_tables,
    )


def _noted(value: T, name: str, missing: dict[str, str], ev: Evidence, prefix: str) -> T:
    """Pass value through; when it is None, say why in missing[name]."""
    if value is None:
        items = list(ev.prefixed(prefix))
        missing[name] = _reason(items, name) if items else f"no {prefix}* evidence"
    return value


def _accounts(ev: Evidence) -> Accounts | None:
    item = ev.get("sys.accounts")
    return python.accounts(item) if item is not None and item.ok else None

