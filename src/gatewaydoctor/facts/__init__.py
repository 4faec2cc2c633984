"""Typed facts parsed from raw evidence, by domain. Rules read only these."""

from __future__ import annotations

from .address import (
    Endpoint,
)
from .database import (
    AUTH,
    KINDS,
    NOT_FOUND,
    UNREACHABLE,
    DatabaseCheck,
    DatabaseProblem,
    DatabaseUnit,
    classify,
    database_problems,
)
from .files import (
    FileStat,
    Owned,
    PathOwner,
    PathStat,
    allows,
)
from .host import (
    PROC_TCP_TABLES,
    Accounts,
    Container,
    DiskUsage,
    Listener,
    Namespaces,
    NetNamespace,
    OpenFileLimit,
    Process,
    SystemState,
)
from .network import (
    INPUT_CHAINS,
    AvcDenial,
    ChainPolicy,
    FirewallRule,
    FirewallState,
    NameLookup,
    Probe,
    SelinuxState,
    url_at_nginx,
)
from .nginx import (
    HANDLER_KINDS,
    NOT_INHERITED,
    PASS_KINDS,
    SCRIPT,
    AccessLogEntry,
    ErrorLogEntry,
    FileStamp,
    IfBlock,
    Listen,
    Location,
    NginxConfig,
    NginxControl,
    NginxDirective,
    NginxMaster,
    NginxMessage,
    NginxProcess,
    NginxRuntime,
    NginxTest,
    NginxUser,
    ServerBlock,
    UpstreamGroup,
    nginx_commands,
    place_links,
)
from .python import (
    ADDED,
    ADDED_MODULES,
    NEW_SYNTAX,
    REMOVED_MODULES,
    DirListing,
    EnvFile,
    ImportProbe,
    Need,
    PythonInfo,
    Traceback,
)
from .routing import (
    Route,
    RouteStep,
    location_for,
    pcre_to_python,
    route,
    server_for,
)
from .services import (
    APP_ERROR_RE,
    EXITED_RE,
    FAILED_RE,
    MANAGERS,
    RESTART_RE,
    RESTARTING_MANAGERS,
    START_LIMIT_RE,
    SYSTEMD_EXIT_RE,
    SYSTEMD_REASON_RE,
    HandStarted,
    JournalEntry,
    Pm2App,
    Pm2State,
    Service,
    SupervisorProgram,
    SupervisorState,
    Unit,
    UnitFileText,
    last_matching,
)
from .snapshot import (
    Facts,
    SkippedSource,
)

__all__ = [
    "ADDED", "ADDED_MODULES", "APP_ERROR_RE", "AUTH", "AccessLogEntry", "Accounts", "Container",
    "Namespaces", "NetNamespace", "AvcDenial", "ChainPolicy", "DatabaseCheck", "DatabaseUnit",
    "DatabaseProblem", "DirListing", "DiskUsage",
    "EXITED_RE", "Endpoint", "EnvFile", "ErrorLogEntry", "FAILED_RE", "Facts", "FileStamp",
    "FileStat", "FirewallRule", "FirewallState", "INPUT_CHAINS", "ImportProbe", "JournalEntry",
    "KINDS", "Listen", "Listener", "Location", "MANAGERS", "NEW_SYNTAX", "NOT_FOUND", "Need",
    "NginxConfig", "NginxDirective", "NginxMaster", "NginxMessage", "NginxProcess", "NginxRuntime",
    "NginxControl", "nginx_commands", "NginxTest", "NginxUser", "OpenFileLimit", "Owned",
    "PROC_TCP_TABLES",
    "PathOwner",
    "PathStat", "Probe", "Process", "PythonInfo", "REMOVED_MODULES", "RESTART_RE",
    "START_LIMIT_RE", "SYSTEMD_EXIT_RE", "SYSTEMD_REASON_RE", "SelinuxState", "ServerBlock",
    "Service", "SkippedSource", "SupervisorProgram", "SupervisorState", "SystemState",
    "Traceback", "UNREACHABLE", "Unit", "UnitFileText", "UpstreamGroup", "allows", "classify",
    "database_problems", "last_matching", "location_for", "pcre_to_python", "place_links",
    "server_for", "route", "Route", "RouteStep", "HANDLER_KINDS", "NOT_INHERITED",
    "PASS_KINDS", "SCRIPT", "IfBlock", "NameLookup", "url_at_nginx", "HandStarted", "Pm2App",
    "Pm2State", "RESTARTING_MANAGERS",
]
