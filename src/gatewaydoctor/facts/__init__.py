"""Typed facts parsed from raw evidence, by domain. Rules read only these."""

from __future__ import annotations

from .address import Endpoint
from .database import DatabaseCheck
from .files import FileStat, PathOwner, PathStat
from .host import (
    PROC_TCP_TABLES,
    Accounts,
    DiskUsage,
    Listener,
    OpenFileLimit,
    Process,
    SystemState,
)
from .network import AvcDenial, ChainPolicy, FirewallRule, FirewallState, Probe, SelinuxState
from .nginx import (
    AccessLogEntry,
    ErrorLogEntry,
    FileStamp,
    Listen,
    Location,
    NginxConfig,
    NginxDirective,
    NginxMessage,
    NginxProcess,
    NginxRuntime,
    NginxTest,
    NginxUser,
    ServerBlock,
    UpstreamGroup,
)
from .python import DirListing, EnvFile, ImportProbe, PythonInfo, Traceback
from .routing import location_for, pcre_to_python, server_for
from .services import JournalEntry, SupervisorProgram, SupervisorState, Unit, UnitFileText
from .snapshot import Facts, SkippedSource

__all__ = [
    "AccessLogEntry", "Accounts", "AvcDenial", "ChainPolicy", "DatabaseCheck", "DirListing",
    "DiskUsage", "Endpoint", "EnvFile", "ErrorLogEntry", "Facts", "FileStamp", "FileStat",
    "FirewallRule", "FirewallState", "ImportProbe", "JournalEntry", "Listen", "Listener",
    "Location", "NginxConfig", "NginxDirective", "NginxMessage", "NginxProcess",
    "NginxRuntime", "NginxTest", "NginxUser", "OpenFileLimit", "PROC_TCP_TABLES", "PathOwner",
    "PathStat", "Probe", "Process", "PythonInfo", "SelinuxState", "ServerBlock", "SkippedSource",
    "SupervisorProgram", "SupervisorState", "SystemState", "Traceback", "Unit", "UnitFileText",
    "UpstreamGroup", "location_for", "pcre_to_python", "server_for",
]
