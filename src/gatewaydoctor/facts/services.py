"""Services and what they logged: systemd units, supervisor programs, journal records."""

from __future__ import annotations

from dataclasses import dataclass

from ..formats.execspec import AppTarget
from .address import Endpoint


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
