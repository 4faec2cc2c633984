"""uWSGI's own log files (`logto`, `daemonize`) → the journal of the service that writes them.

uWSGI started with `logto` writes everything after reading its configuration to that file,
not to the journal: the bind failures, the import tracebacks, "no python application found"
and the worker deaths are only there. Each line joins the journal of the unit whose command
line named the file, so the app.*, port.* and upstream.* rules read it like the journal.
Only the current run is kept: each start of uWSGI begins with `*** Starting uWSGI`
(core/uwsgi.c uwsgi_start), and what an earlier run said is not today's state.
"""

from __future__ import annotations

from dataclasses import replace

from ..evidence import Evidence, Item
from ..facts import Endpoint, JournalEntry, Unit
from ..formats import execspec, sources

# core/uwsgi.c: `*** Starting uWSGI 2.0.21-debian (64bit) on [Tue Dec  1 21:17:20 2026] ***`.
START = "*** Starting uWSGI "


def current_run(item: Item) -> list[tuple[int, str]]:
    """(line number, text) of the last run in one log tail; numbers are the file's own when
    the tail starts at the file's start (offset 0), else 0."""
    lines = (item.stdout or "").splitlines()
    first = max((n for n, line in enumerate(lines) if line.startswith(START)), default=0)
    numbered = not item.offset
    return [((n + 1) if numbered else 0, line) for n, line in enumerate(lines) if n >= first]


def log_journal(ev: Evidence) -> list[JournalEntry]:
    """The uWSGI log files' current runs, as the journal of the units that write them."""
    out = []
    for item in ev.prefixed(sources.UWSGI_LOG_PREFIX):
        if not item.ok:
            continue
        unit = (item.data or {}).get("unit")
        path = item.path or item.subject
        for n, line in current_run(item):
            if line.strip():
                out.append(JournalEntry(unit=unit, time=None, message=line, pid=None,
                                        identifier="uwsgi", priority=None,
                                        source=f"{path}:{n}" if n else path))
    return out


def with_configs(units: tuple[Unit, ...], ev: Evidence) -> tuple[Unit, ...]:
    """uWSGI units with what their configuration files say (`--ini FILE`: the socket, the
    module) read like flags of their command line: their binds and app; and the file they
    log to (`logto`) as their output."""
    texts: dict[str, list[str]] = {}
    for item in ev.prefixed(sources.UWSGI_CONFIG_PREFIX):
        unit = (item.data or {}).get("unit")
        if item.ok and isinstance(unit, str):
            texts.setdefault(unit, []).append(item.stdout or "")
    logs = {(i.data or {}).get("unit"): i.path for i in ev.prefixed(sources.UWSGI_LOG_PREFIX)}
    out = []
    for u in units:
        argv = next((list(a) for a in u.exec_start if execspec.server_of(list(a)) == "uwsgi"),
                    None)
        if argv is None or u.name not in texts:
            out.append(u)
            continue
        full = argv + [a for text in texts[u.name] for a in execspec.uwsgi_ini_args(text)]
        app = execspec.app_target(full) or u.app
        out.append(replace(u, app=app,
                           binds=tuple(Endpoint.parse(b) for b in execspec.binds(full)),
                           output=logs.get(u.name) or u.output, venv=_venv(full),
                           # uWSGI changes into `chdir` before it loads the app
                           working_directory=u.working_directory or (app.chdir if app else None)))
    return tuple(out)


# uWSGI's names for the virtualenv it loads the app with (core/uwsgi.c: home, virtualenv,
# venv, pyhome; -H).
VENV_OPTIONS = ("--home", "--virtualenv", "--venv", "--pyhome", "-H")


def _venv(argv: list[str]) -> str | None:
    """The last virtualenv option of a uwsgi command line (with its files), if any:
    `--home PATH` or `--home=PATH`."""
    found = None
    for i, arg in enumerate(argv):
        name, eq, value = arg.partition("=")
        if name in VENV_OPTIONS:
            found = value if eq else (argv[i + 1] if i + 1 < len(argv) else None)
    return found

