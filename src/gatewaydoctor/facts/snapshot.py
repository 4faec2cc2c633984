"""Facts: everything the rules may read, one typed field per domain."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .address import Endpoint
from .database import DatabaseCheck
from .files import FileStat
from .host import PROC_TCP_TABLES, Accounts, Listener, Process, SystemState
from .network import FirewallState, Probe, SelinuxState
from .nginx import AccessLogEntry, ErrorLogEntry, NginxConfig, NginxRuntime, NginxTest
from .python import DirListing, EnvFile, ImportProbe, PythonInfo, Traceback
from .services import JournalEntry, SupervisorProgram, SupervisorState, Unit, UnitFileText


@dataclass(frozen=True)
class SkippedSource:
    """Evidence deliberately not gathered (`--no-exec` skips running the app's Python)."""

    source: str
    reason: str


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
    # Where processes were looked for (cited when none runs, e.g. no nginx).
    process_table: str = "/proc"
    # What was deliberately not gathered, in the order it was recorded.
    skipped: tuple[SkippedSource, ...] = ()
    taken_at: str = ""  # when the evidence was gathered

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
