"""Services and what they logged: systemd units, supervisor programs, journal records."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..findings import Excerpt
from ..formats.execspec import AppTarget
from .address import Endpoint

# What systemd writes to the journal about a service (signatures.md, systemd section).
RESTART_RE = re.compile(r"Scheduled restart job, restart counter is at (\d+)")
EXITED_RE = re.compile(r"Main process exited, code=(\w+), status=(\S+)")
FAILED_RE = re.compile(r"Failed with result '([\w-]+)'")
START_LIMIT_RE = re.compile(r"Start request repeated too quickly")
# systemd's own exit codes (200..243) say the process never ran the app: exec(), chdir(), ...
SYSTEMD_EXIT_RE = re.compile(r"status=2(?:[0-3]\d|4[0-3])/[A-Z_]+")
# systemd lines that name a reason (not the bare `Failed with result`/`Failed to start`).
SYSTEMD_REASON_RE = re.compile(r"Failed to (?!start )|Failed at step|status=\d+/KILL|"
                               r"Main process exited, code=(?:killed|dumped)")
# A line of the app's own output that says something went wrong.
APP_ERROR_RE = re.compile(r"error|exception|failed|denied|fatal|critical|killed|refused",
                          re.IGNORECASE)
# Who runs a service; room for pm2, a container, a bare process.
MANAGERS = ("systemd", "supervisor")


@dataclass(frozen=True)
class Service:
    """A service and the manager that runs it: a systemd unit (`systemctl show`) or a
    supervisor program (its config and `supervisorctl status`, states mapped to systemd's).

    `name` is how the service is joined to its journal, tracebacks and probes: the unit
    name, or `supervisor:<program>` (made in one place, SupervisorProgram.unit).
    """

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
    manager: str = "systemd"

    @property
    def program(self) -> str:
        """The name its manager knows it by (`api.service`, or the supervisor program)."""
        return self.name.split(":", 1)[1] if self.manager == "supervisor" else self.name

    @property
    def restart_command(self) -> str:
        """How to restart it with its own manager."""
        if self.manager == "supervisor":
            return f"supervisorctl restart {self.program}"
        return f"systemctl restart {self.name}"

    @property
    def status_command(self) -> str:
        """How to see its state with its own manager."""
        if self.manager == "supervisor":
            return f"supervisorctl status {self.program}"
        return f"systemctl status {self.name} --no-pager"

    def logs_command(self, lines: int = 50, journal_opts: str = "") -> str:
        """How to read its recent output: journalctl, or supervisorctl tail."""
        if self.manager == "supervisor":
            return f"supervisorctl tail -{lines * 120} {self.program} stderr"
        extra = f" {journal_opts}" if journal_opts else ""
        return f"journalctl -u {self.name} -n {lines} --no-pager{extra}"

    @property
    def state_excerpt(self) -> Excerpt:
        """Its state as `systemctl show` reports it."""
        return Excerpt(self.source, f"ActiveState={self.active_state} SubState={self.sub_state} "
                       f"Result={self.result} NRestarts={self.n_restarts} "
                       f"ExecMainStatus={self.exec_main_status} "
                       f"UnitFileState={self.unit_file_state}")

    @property
    def is_web_app(self) -> bool:
        """True when the unit runs a Python web server (uvicorn, gunicorn, ...)."""
        return self.server is not None and self.server != "python"

    @property
    def state(self) -> str:
        """`active/running`, `activating/auto-restart`, ..."""
        return f"{self.active_state}/{self.sub_state}"

    # app rules
    def is_app_module(self, name: str) -> bool:
        """Tell whether name is the module its server imports as the app, or a package above."""
        if self.app is None:
            return False
        parts = self.app.module.split(".")
        return any(name == ".".join(parts[: i + 1]) for i in range(len(parts)))


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

    @property
    def excerpt(self) -> Excerpt:
        """This record as an evidence line."""
        return Excerpt(self.source, self.message)


def last_matching(entries: list[JournalEntry], pattern: re.Pattern[str]) -> JournalEntry | None:
    """The newest journal entry whose message matches pattern."""
    return next((e for e in reversed(entries) if pattern.search(e.message)), None)


# The name rules used before services knew their manager.
Unit = Service


@dataclass(frozen=True)
class UnitFileText:
    """`systemctl cat UNIT`: the unit file and drop-ins as they are on disk now."""

    unit: str
    text: str
    exec_start: tuple[str, ...]
    warnings: tuple[str, ...]
    source: str


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
