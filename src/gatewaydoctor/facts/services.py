"""Services and what they logged: systemd units, supervisor programs, pm2 apps, servers
started by hand, journal records."""

from __future__ import annotations

import re
import shlex
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
# Who runs a service: systemd, supervisord, pm2, or nobody (a process started by hand:
# nohup, screen, tmux); room for a container.
MANAGERS = ("systemd", "supervisor", "pm2", "process", "container")
# Managers that restart what they run (a stopped one of theirs is their rules' to speak of).
RESTARTING_MANAGERS = ("supervisor", "pm2")


@dataclass(frozen=True)
class Service:
    """A service and the manager that runs it: a systemd unit (`systemctl show`), a
    supervisor program (its config and `supervisorctl status`), a pm2 app (`pm2 jlist`) or a
    process started by hand (/proc), states mapped to systemd's.

    `name` is how the service is joined to its journal, tracebacks and probes: the unit
    name, `supervisor:<program>` (made in one place, SupervisorProgram.unit), `pm2:<app>`
    or `process:<pid>`.
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
    # The manager's own words for the state (pm2's status line, a process's /proc record);
    # empty: systemd's properties say it.
    status_text: str = ""
    # What a manager command needs first: pm2's PM2_HOME and user (`sudo -u app env
    # PM2_HOME=/home/app/.pm2 `); a container's runtime CLI (`docker`, `podman`).
    control: str = ""
    # Where a hand-started server's output goes: a file (nohup.out), a terminal, a pipe; for
    # uWSGI, the file its configuration logs to (`logto`).
    output: str | None = None
    # The virtualenv its server loads the app with when its command line does not run that
    # venv's Python (uWSGI's `virtualenv`/`home` option).
    venv: str | None = None

    @property
    def program(self) -> str:
        """The name its manager knows it by (`api.service`, the supervisor program, the pm2
        app, the pid of a process started by hand)."""
        return self.name if self.manager == "systemd" else self.name.split(":", 1)[1]

    @property
    def restart_command(self) -> str:
        """How to restart it with its own manager (a hand-started server: stop it, then
        start it again as it was started, from its directory)."""
        if self.manager == "supervisor":
            return f"supervisorctl restart {self.program}"
        if self.manager == "pm2":
            return f"{self.control}pm2 restart {self.program}"
        if self.manager == "container":
            return f"{self.control} restart {self.program}"
        if self.manager == "process":
            # Nothing restarts a server started by hand: say so where the command is given.
            stop = f"kill {self.main_pid} && " if self.main_pid else ""
            return (f"{stop}{self.start_by_hand}   # started by hand: a systemd unit "
                    "(Restart=always), supervisor or pm2 would restart it")
        return f"systemctl restart {self.name}"

    @property
    def start_by_hand(self) -> str:
        """The command line that starts a hand-started server again, in its directory, as
        its user, with its output where it went (nothing else restarts it)."""
        argv = shlex.join(self.exec_start[0]) if self.exec_start else \
            "<the command it was started with>"
        out = self.output if self.output and self.output.startswith("/") and \
            not self.output.startswith("/dev/") else "nohup.out"
        line = (f"cd {shlex.quote(self.working_directory or '/')} && nohup {argv} "
                f">>{shlex.quote(out)} 2>&1 &")
        if self.user and self.user != "root":
            return f"sudo -u {self.user} sh -c {shlex.quote(line)}"
        return line

    @property
    def status_command(self) -> str:
        """How to see its state with its own manager."""
        if self.manager == "supervisor":
            return f"supervisorctl status {self.program}"
        if self.manager == "pm2":
            return f"{self.control}pm2 describe {self.program}"
        if self.manager == "container":
            return f"{self.control} ps -a --filter name=^{self.program}$"
        if self.manager == "process":
            return f"ps -o pid,user,lstart,args -p {self.main_pid}" if self.main_pid else \
                f"ss -ltnp; tail -n 20 {shlex.quote(self.output or 'nohup.out')}"
        return f"systemctl status {self.name} --no-pager"

    def logs_command(self, lines: int = 50, journal_opts: str = "") -> str:
        """How to read its recent output: journalctl, supervisorctl tail, pm2 logs, or the
        file a hand-started server writes to."""
        if self.manager == "supervisor":
            return f"supervisorctl tail -{lines * 120} {self.program} stderr"
        if self.manager == "pm2":
            return f"{self.control}pm2 logs {self.program} --lines {lines} --nostream"
        if self.manager == "container":
            return f"{self.control} logs --tail {lines} {self.program}"
        if self.manager == "process":
            if self.output and self.output.startswith("/") and \
                    not self.output.startswith("/dev/"):
                return f"tail -n {lines} {shlex.quote(self.output)}"
            return f"ls -l /proc/{self.program}/fd/1 /proc/{self.program}/fd/2"
        if self.server == "uwsgi" and self.output and self.output.startswith("/"):
            return f"tail -n {lines} {shlex.quote(self.output)}"  # its `logto` file
        extra = f" {journal_opts}" if journal_opts else ""
        return f"journalctl -u {self.name} -n {lines} --no-pager{extra}"

    @property
    def restarted_by_manager(self) -> bool:
        """A process manager (supervisord, pm2) runs it, and restarts it as it is told."""
        return self.manager in RESTARTING_MANAGERS

    @property
    def state_excerpt(self) -> Excerpt:
        """Its state as its manager reports it (`systemctl show`'s properties by default)."""
        if self.status_text:
            return Excerpt(self.source, self.status_text)
        return Excerpt(self.source, f"ActiveState={self.active_state} SubState={self.sub_state} "
                       f"Result={self.result} NRestarts={self.n_restarts} "
                       f"ExecMainStatus={self.exec_main_status} "
                       f"UnitFileState={self.unit_file_state}")

    @property
    def is_web_app(self) -> bool:
        """True when the unit runs a Python web server (uvicorn, gunicorn, ...), or is a
        Python script started by hand that serves (it holds a listening socket)."""
        return (self.server is not None and self.server != "python") or (
            self.manager == "process" and bool(self.binds))

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


@dataclass(frozen=True)
class Pm2App:
    """One app of a pm2 daemon, as `pm2 jlist` (or dump.pm2) lists it."""

    name: str
    pm_id: int | None
    home: str  # the daemon's PM2_HOME
    status: str | None  # online, stopped, errored, launching, waiting restart...; None: unknown
    pid: int | None
    restarts: int
    unstable_restarts: int
    exit_code: int | None
    argv: tuple[str, ...]
    cwd: str | None
    user: str | None
    out_log: str | None
    err_log: str | None
    autorestart: bool
    source: str  # `pm2 jlist (PM2_HOME=...)`, or the dump.pm2 it was read from
    interpreter: str | None = None  # pm2's exec_interpreter (`none`: the script itself)
    # The Python command a Python script run with Node was meant to be (else empty).
    python_argv: tuple[str, ...] = ()
    # pm2.log lines about this app (`App [name:id] exited with code [1]`...), oldest first.
    events: tuple[JournalEntry, ...] = ()

    @property
    def unit(self) -> str:
        """The name the app goes by among units: `pm2:<name>`."""
        return f"pm2:{self.name}"

    @property
    def status_line(self) -> str:
        """Its state in pm2's words."""
        return (f"{self.name} (id {self.pm_id}) status={self.status or 'unknown'} "
                f"pid={self.pid or '-'} restarts={self.restarts} "
                f"unstable_restarts={self.unstable_restarts}"
                + (f" exit_code={self.exit_code}" if self.exit_code is not None else ""))


@dataclass(frozen=True)
class Pm2State:
    """The pm2 daemons running and their apps."""

    apps: tuple[Pm2App, ...]
    homes: tuple[str, ...]
    # Why an app list could not be read live (pm2 not on PATH, a timeout), per PM2_HOME.
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class HandStarted:
    """A Python web server no manager runs: started by hand (nohup, screen, tmux, a shell)."""

    pid: int
    user: str | None
    cwd: str | None
    argv: tuple[str, ...]
    cgroup: str | None
    parents: tuple[str, ...]  # `bash (pid 1200)`, nearest first
    stdout: str | None  # where fd 1 goes: a file, /dev/pts/N, pipe:[N], socket:[N]
    stderr: str | None
    source: str

    @property
    def unit(self) -> str:
        """The name the process goes by among units: `process:<pid>`."""
        return f"process:{self.pid}"
