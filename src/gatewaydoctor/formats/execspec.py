"""What a Python web server's command line says: which server, the ASGI/WSGI app target
it imports and the addresses it binds."""

from __future__ import annotations

import os
import re
from typing import NamedTuple

from .endpoint import join_hostport
from .systemd import exec_argvs

SERVERS = ("uvicorn", "gunicorn", "hypercorn", "daphne", "granian", "waitress-serve")
DEFAULT_BIND = "127.0.0.1:8000"


class AppTarget(NamedTuple):
    """The `module:attr` a server imports, and where it imports it from.

    (A NamedTuple, not a dataclass: importing dataclasses costs the agent ~15 ms.)
    """

    server: str
    module: str
    attr: str
    app_dir: str | None
    chdir: str | None
    pythonpath: tuple[str, ...]


def server_argv(exec_start: str) -> list[str] | None:
    """The first argv of an `ExecStart=` value that starts a Python web server, or None."""
    return next((a for a in exec_argvs(exec_start) if server_of(a)), None)


def server_of(argv: list[str]) -> str | None:
    """Name the Python web server an argv starts (uvicorn, gunicorn, ...), or None."""
    if not argv:
        return None
    base = os.path.basename(argv[0])
    if base in SERVERS:
        return base
    if base.startswith("python"):
        rest = argv[1:]
        while rest and rest[0].startswith("-") and rest[0] != "-m":
            rest = rest[1:]
        if len(rest) >= 2 and rest[0] == "-m":
            mod = rest[1].split(".")[0]
            return mod if mod in SERVERS else "python"
        # A script run through its shebang shows in the process table as
        # `python /venv/bin/gunicorn ...`: the script names the server.
        if rest and os.path.basename(rest[0]) in SERVERS:
            return os.path.basename(rest[0])
        return "python"
    return None


def server_args(argv: list[str]) -> list[str]:
    """Return the arguments given to the server itself (after `python -m uvicorn`)."""
    base = os.path.basename(argv[0]) if argv else ""
    if base.startswith("python") and "-m" in argv:
        return argv[argv.index("-m") + 2 :]
    if base.startswith("python"):  # `python /venv/bin/gunicorn ARGS`, as a shebang runs it
        script = next((i for i, a in enumerate(argv[1:], 1) if not a.startswith("-")), None)
        if script is not None and os.path.basename(argv[script]) in SERVERS:
            return argv[script + 1:]
    return argv[1:]


# Options whose next argument is a value, so it is not taken for the app target.
_VALUE_OPTS = {
    "uvicorn": {"--host", "--port", "--uds", "--fd", "--loop", "--http", "--ws", "--lifespan",
                "--env-file", "--log-config", "--log-level", "--workers", "--root-path",
                "--limit-concurrency", "--backlog", "--limit-max-requests", "--timeout-keep-alive",
                "--ssl-keyfile", "--ssl-certfile", "--ssl-keyfile-password", "--ssl-version",
                "--ssl-cert-reqs", "--ssl-ca-certs", "--ssl-ciphers", "--header", "--app-dir",
                "--forwarded-allow-ips", "--reload-dir", "--reload-include", "--reload-exclude",
                "--reload-delay", "--interface", "--h11-max-incomplete-event-size",
                "--timeout-graceful-shutdown", "--ws-max-size", "--ws-max-queue",
                "--ws-ping-interval", "--ws-ping-timeout", "--proxy-headers-trusted-hosts"},
    "gunicorn": {"-b", "--bind", "-w", "--workers", "-k", "--worker-class", "-c", "--config",
                 "--chdir", "--pythonpath", "-t", "--timeout", "--threads", "--log-level",
                 "--access-logfile", "--error-logfile", "--log-file", "-u", "--user", "-g",
                 "--group", "-m", "--umask", "-p", "--pid", "-n", "--name", "-e", "--env",
                 "--max-requests", "--max-requests-jitter", "--graceful-timeout", "--keep-alive",
                 "--backlog", "--worker-connections", "--access-logformat", "--forwarded-allow-ips",
                 "--capture-output", "--worker-tmp-dir", "--certfile", "--keyfile", "--log-config",
                 "--statsd-host", "--limit-request-line", "--limit-request-fields"},
    "hypercorn": {"-b", "--bind", "-w", "--workers", "-k", "--worker-class", "-c", "--config",
                  "--root-path", "--log-level", "--access-logfile", "--error-logfile",
                  "--certfile", "--keyfile", "-u", "--user", "-g", "--group", "--pid"},
    "daphne": {"-b", "--bind", "-p", "--port", "-u", "--unix-socket", "--fd", "-e",
               "--endpoint", "--access-log", "--root-path", "-t", "--http-timeout", "-v",
               "--verbosity", "--proxy-headers-host-header", "--proxy-headers-port-header"},
}


def _options(args: list[str], server: str) -> tuple[dict[str, list[str]], list[str]]:
    """Split server arguments into options (name -> values) and positionals."""
    takes_value = _VALUE_OPTS.get(server, set())
    opts: dict[str, list[str]] = {}
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-") and "=" in arg and arg.startswith("--"):
            name, _, value = arg.partition("=")
            opts.setdefault(name, []).append(value)
        elif arg in takes_value and i + 1 < len(args):
            opts.setdefault(arg, []).append(args[i + 1])
            i += 1
        elif arg.startswith("-"):
            opts.setdefault(arg, []).append("")
        else:
            positional.append(arg)
        i += 1
    return opts, positional


def _last(opts: dict[str, list[str]], name: str) -> str | None:
    values = opts.get(name)
    return values[-1] if values else None


def app_target(argv: list[str]) -> AppTarget | None:
    """Return the `module:attr` target uvicorn/gunicorn/hypercorn/daphne would import."""
    server = server_of(argv)
    if server is None or server == "python":
        return None
    opts, positional = _options(server_args(argv), server)
    for cand in positional:
        if ":" in cand and not cand.startswith(("unix:", "fd:")):
            module, _, attr = cand.partition(":")
            if module and re.fullmatch(r"[\w.]+", module):
                return AppTarget(
                    server=server,
                    module=module,
                    attr=attr or "app",
                    app_dir=_last(opts, "--app-dir"),
                    chdir=_last(opts, "--chdir"),
                    pythonpath=tuple(
                        p for v in opts.get("--pythonpath", []) for p in v.split(",") if p
                    ),
                )
    for cand in positional:
        # gunicorn and uvicorn default the attribute to `application` / `app`.
        if re.fullmatch(r"[\w.]+", cand):
            attr = "application" if server == "gunicorn" else "app"
            return AppTarget(server, cand, attr, _last(opts, "--app-dir"), _last(opts, "--chdir"),
                             ())
    return None


def binds(argv: list[str]) -> list[str]:
    """Return where the server listens: `host:port` or `unix:/path`, defaults included."""
    server = server_of(argv)
    if server is None or server == "python":
        return []
    opts, _ = _options(server_args(argv), server)
    if server == "uvicorn":
        if opts.get("--uds"):
            return ["unix:" + opts["--uds"][-1]]
        if opts.get("--fd"):
            return []
        host = (opts.get("--host") or ["127.0.0.1"])[-1]
        port = (opts.get("--port") or ["8000"])[-1]
        return [join_hostport(host, port)]
    if server == "daphne":
        if opts.get("-u") or opts.get("--unix-socket"):
            return ["unix:" + (opts.get("-u") or opts["--unix-socket"])[-1]]
        host = (opts.get("-b") or opts.get("--bind") or ["127.0.0.1"])[-1]
        port = (opts.get("-p") or opts.get("--port") or ["8000"])[-1]
        return [join_hostport(host, port)]
    values = opts.get("-b", []) + opts.get("--bind", [])
    if not values:
        return [DEFAULT_BIND]
    out = []
    for v in values:
        if v.startswith("unix:"):
            out.append(v)
        elif v.startswith("fd://"):
            continue
        elif ":" in v:
            out.append(v)
        else:
            out.append(join_hostport(v, "8000"))
    return out


_SHELLS = ("sh", "bash", "dash", "zsh")


def process_argv(argv: list[str]) -> list[str]:
    """The command a process (or a process manager's entry) stands for, as a server argv.

    A console script run through its shebang shows in /proc as `python3 /venv/bin/uvicorn
    main:app`: that is `/venv/bin/uvicorn main:app`. A command string a manager hands to a
    shell (pm2 runs `pm2 start "uvicorn main:app"` as `bash -c 'uvicorn main:app'`) is the
    string's own argv. Anything else is returned unchanged.
    """
    if len(argv) >= 3 and os.path.basename(argv[0]) in _SHELLS and argv[1] == "-c":
        argvs = exec_argvs(argv[2])
        return argvs[0] if argvs else argv
    if len(argv) >= 2 and os.path.basename(argv[0]).startswith("python") and \
            os.path.basename(argv[1]) in SERVERS:
        return argv[1:]
    return argv
