"""What lint reads and says: settings with their file:line, the services and nginx
configurations the files describe, and the findings (file, line, rule, severity, message)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..facts import Endpoint, NginxConfig
from ..findings import Severity
from ..formats import execspec
from ..formats.systemd import exec_argvs

# What each manager calls the settings the checks read.
KEYS = {"systemd": {"command": "ExecStart", "workdir": "WorkingDirectory", "user": "User"},
        "supervisor": {"command": "command", "workdir": "directory", "user": "user"}}
NGINX_NAMES = ("nginx", "openresty")


@dataclass(frozen=True)
class Setting:
    """One `Key=value` as written, and where."""

    key: str
    value: str
    file: str
    line: int


@dataclass(frozen=True)
class ServiceFile:
    """A systemd unit (its file and drop-ins) or a supervisor program, as written."""

    manager: str  # "systemd" | "supervisor"
    name: str
    file: str
    line: int  # of its [Service] or [program:x] header (1 when it has none)
    settings: tuple[Setting, ...]
    # Options from the files the command loads (uwsgi --ini), read where they exist.
    extra_args: tuple[str, ...] = ()

    def all(self, key: str) -> tuple[Setting, ...]:
        """Every assignment of a list setting in force (systemd: an empty one resets)."""
        out: list[Setting] = []
        for s in self.settings:
            if s.key != key:
                continue
            if not s.value.strip():
                out.clear()
            else:
                out.append(s)
        return tuple(out)

    def last(self, key: str) -> Setting | None:
        """The assignment in force of a single-valued setting."""
        found = self.all(key)
        return found[-1] if found else None

    def get(self, what: str) -> Setting | None:
        """`command`, `workdir` or `user`, whichever key this manager uses for it."""
        return self.last(KEYS[self.manager][what])

    @property
    def argv(self) -> list[str]:
        """The command's argv (systemd's prefixes `-@:+!` dropped)."""
        cmd = self.get("command")
        argvs = exec_argvs(cmd.value) if cmd is not None else []
        return argvs[0] if argvs else []

    @property
    def server(self) -> str | None:
        """The Python web server it starts (uvicorn, gunicorn, uwsgi...), or None."""
        server = execspec.server_of(self.argv)
        return None if server == "python" else server

    @property
    def server_argv(self) -> list[str]:
        """The command with the options of the files it loads (uwsgi --ini) appended."""
        return [*self.argv, *self.extra_args]

    @property
    def binds(self) -> tuple[Endpoint, ...]:
        """Where the server listens, as its command line (and ini) says."""
        if self.server is None:
            return ()
        return tuple(Endpoint.parse(b) for b in execspec.binds(self.server_argv))

    @property
    def runs_nginx(self) -> bool:
        """It starts nginx (or OpenResty)."""
        return bool(self.argv) and os.path.basename(self.argv[0]) in NGINX_NAMES


@dataclass(frozen=True)
class NginxError:
    """A place where nginx (or crossplane reading as nginx does) rejects the configuration."""

    file: str
    line: int
    text: str


@dataclass(frozen=True)
class Inputs:
    """Everything a check may read."""

    services: tuple[ServiceFile, ...] = ()
    nginx: tuple[NginxConfig, ...] = ()
    nginx_errors: tuple[NginxError, ...] = ()
    # Host mode: what listens on this host now; None when linting files given.
    listening: tuple[Endpoint, ...] | None = None
    # The files are not for this machine: do not look for the paths they name.
    offline: bool = False
    files: tuple[str, ...] = ()
    # (file, line) of the server and location blocks holding an include lint could not read.
    opaque: frozenset[tuple[str, int]] = frozenset()
    # How each file read is called in what lint says (the path as given), by absolute path.
    names: Mapping[str, str] = field(default_factory=dict)

    @property
    def binds(self) -> tuple[Endpoint, ...]:
        """Every address a service given (or on the host) binds or listens on."""
        return (*(b for s in self.services for b in s.binds), *(self.listening or ()))

    @property
    def knows_binds(self) -> bool:
        """Whether anything says where the apps listen (a web service, or the host)."""
        return self.listening is not None or any(s.server for s in self.services)


@dataclass(frozen=True)
class Hit:
    """What a check's detector returns: where, and the values its message names."""

    file: str
    line: int
    values: Mapping[str, object] = field(default_factory=dict)


def hit(where: Setting | tuple[str, int], **values: object) -> Hit:
    """A hit at a setting (or a `(file, line)`), with its message's values."""
    file, line = (where.file, where.line) if isinstance(where, Setting) else where
    return Hit(file, line, values)


@dataclass(frozen=True)
class LintFinding:
    """One finding: where, which rule, how bad, and what it says in the reader's language."""

    file: str
    line: int
    rule: str
    symbol: str
    category: str
    severity: Severity
    message: str

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of a finding."""
        return {"file": self.file, "line": self.line, "rule": self.rule, "symbol": self.symbol,
                "category": self.category, "severity": self.severity.value,
                "message": self.message}


@dataclass(frozen=True)
class LintResult:
    """What a lint run found, what it read, and the checks it could not evaluate (why)."""

    findings: tuple[LintFinding, ...]
    files: tuple[str, ...]
    not_evaluated: tuple[tuple[str, str], ...] = ()  # (symbol, why)

    @property
    def failed(self) -> bool:
        """Errors or warnings were found (exit status 1)."""
        return any(f.severity in (Severity.ERROR, Severity.WARNING) for f in self.findings)
