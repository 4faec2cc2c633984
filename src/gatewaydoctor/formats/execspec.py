"""What a Python web server's command line says: which server, the ASGI/WSGI app target
it imports and the addresses it binds."""

import os
import re
from typing import Dict, List, NamedTuple, Optional, Tuple

from .endpoint import join_hostport
from .systemd import exec_argvs

# The servers by the name their command line goes by (the executable, or `python -m NAME`).
# `django` is `manage.py runserver` / `django-admin runserver`; `flask` is `flask run`.
SERVERS = ("uvicorn", "gunicorn", "hypercorn", "daphne", "granian", "waitress-serve", "uwsgi",
           "flask", "django")
# Console scripts that start a server (`python /venv/bin/<script> ...` runs one by its shebang).
_SCRIPTS = (*SERVERS, "django-admin", "uwsgi")
# `python -m X` names that are another spelling of a server.
_MODULES = {"waitress": "waitress-serve", "pyuwsgi": "uwsgi", "uwsgi": "uwsgi",
            **{s: s for s in SERVERS}}
DEFAULT_BIND = "127.0.0.1:8000"


class AppTarget(NamedTuple):
    """The `module:attr` a server imports, and where it imports it from.

    (A NamedTuple, not a dataclass: importing dataclasses costs the agent ~15 ms.)
    """

    server: str
    module: str
    attr: str
    app_dir: Optional[str]
    chdir: Optional[str]
    pythonpath: Tuple[str, ...]


def server_argv(exec_start: str) -> Optional[List[str]]:
    """The first argv of an `ExecStart=` value that starts a Python web server, or None."""
    return next((a for a in exec_argvs(exec_start) if server_of(a)), None)


def server_of(argv: List[str]) -> Optional[str]:
    """Name the Python web server an argv starts (uvicorn, gunicorn, ...), or None."""
    if not argv:
        return None
    base = os.path.basename(argv[0])
    if base.startswith("uwsgi"):  # Debian's uwsgi_python3, uwsgi-core
        return "uwsgi"
    if base in ("flask", "django-admin"):
        return _subcommand(base, argv[1:])
    if base in SERVERS:
        return base
    if base.startswith("python"):
        rest = argv[1:]
        while rest and rest[0].startswith("-") and rest[0] != "-m":
            rest = rest[1:]
        if len(rest) >= 2 and rest[0] == "-m":
            mod = _MODULES.get(rest[1].split(".")[0])
            return (_subcommand(mod, rest[2:]) if mod in ("flask", "django") else mod) or "python"
        # A script run through its shebang shows in the process table as
        # `python /venv/bin/gunicorn ...`: the script names the server.
        if rest and os.path.basename(rest[0]) in _SCRIPTS:
            return server_of(rest) or "python"
        if rest and os.path.basename(rest[0]) == "manage.py":
            return _subcommand("django", rest[1:]) or "python"
        return "python"
    return None


def _subcommand(server: str, args: List[str]) -> Optional[str]:
    """`flask run` and `manage.py runserver` serve; their other subcommands do not."""
    want = "run" if server == "flask" else "runserver"
    words = [a for i, a in enumerate(args) if not a.startswith("-")
             and not (i and args[i - 1] in ("--app", "-A", "--env-file", "-e", "--settings",
                                            "--pythonpath"))]
    return ("flask" if server == "flask" else "django") if want in words[:1] else None


def server_args(argv: List[str]) -> List[str]:
    """Return the arguments given to the server itself (after `python -m uvicorn`)."""
    base = os.path.basename(argv[0]) if argv else ""
    if base.startswith("python") and "-m" in argv:
        return argv[argv.index("-m") + 2 :]
    if base.startswith("python"):  # `python /venv/bin/gunicorn ARGS` (a shebang), `python
        # manage.py runserver ARGS`: what follows the script
        script = next((i for i, a in enumerate(argv[1:], 1) if not a.startswith("-")), None)
        return argv[script + 1:] if script is not None else []
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
                  "--log-file", "--access-log", "--error-log", "--access-logformat", "--backlog",
                  "--ca-certs", "--ciphers", "--cert-reqs", "--graceful-timeout",
                  "--read-timeout", "--max-requests", "--max-requests-jitter", "--keep-alive",
                  "--keyfile-password", "--insecure-bind", "--quic-bind", "--log-config",
                  "--server-name", "--statsd-host", "--statsd-prefix", "-m", "--umask",
                  "--verify-mode", "--websocket-ping-interval", "--certfile", "--keyfile",
                  "-u", "--user", "-g", "--group", "-p", "--pid"},
    "daphne": {"-b", "--bind", "-p", "--port", "-u", "--unix-socket", "--fd", "-e",
               "--endpoint", "--access-log", "--root-path", "-t", "--http-timeout", "-v",
               "--verbosity", "--proxy-headers-host", "--proxy-headers-port", "--log-fmt",
               "--websocket_timeout", "--websocket_connect_timeout", "--ping-interval",
               "--ping-timeout", "--websocket-max-message-size", "--websocket-max-frame-size",
               "--application-close-timeout", "-s", "--server-name"},
    # granian/cli.py: every option but the `--x/--no-x` switches takes a value.
    "granian": {"--host", "--port", "--uds", "--uds-permissions", "--interface", "--http",
                "--workers", "--blocking-threads", "--blocking-threads-idle-timeout",
                "--runtime-threads", "--runtime-blocking-threads", "--runtime-mode", "--loop",
                "--task-impl", "--backlog", "--backpressure", "--http1-buffer-size",
                "--http1-header-read-timeout", "--http2-initial-connection-window-size",
                "--http2-initial-stream-window-size", "--http2-keep-alive-interval",
                "--http2-keep-alive-timeout", "--http2-max-concurrent-streams",
                "--http2-max-frame-size", "--http2-max-headers-size",
                "--http2-max-send-buffer-size", "--log-level", "--log-config",
                "--access-log-fmt", "--ssl-certificate", "--ssl-keyfile",
                "--ssl-keyfile-password", "--ssl-protocol-min", "--ssl-ca", "--ssl-crl",
                "--url-path-prefix", "--respawn-interval", "--rss-sample-interval",
                "--rss-samples", "--workers-lifetime", "--workers-kill-timeout",
                "--workers-max-rss", "--pid-file", "--process-name", "--env-files",
                "--working-dir", "--reload-paths", "--reload-ignore-dirs",
                "--reload-ignore-patterns", "--reload-ignore-paths", "--reload-tick",
                "--static-path-route", "--static-path-mount", "--static-path-expires",
                "--static-path-dir-to-file", "--metrics-address", "--metrics-port",
                "--metrics-scrape-interval"},
    # waitress/adjustments.py Adjustments._params: getopt long options, `--x=v` or `--x v`.
    "waitress-serve": {"--app", "--host", "--port", "--listen", "--threads", "--trusted-proxy",
                       "--trusted-proxy-count", "--trusted-proxy-headers", "--url-scheme",
                       "--url-prefix", "--ident", "--backlog", "--recv-bytes", "--send-bytes",
                       "--outbuf-overflow", "--outbuf-high-watermark", "--inbuf-overflow",
                       "--connection-limit", "--cleanup-interval", "--channel-timeout",
                       "--max-request-header-size", "--max-request-body-size",
                       "--asyncore-loop-timeout", "--unix-socket", "--unix-socket-perms",
                       "--server-name", "--channel-request-lookahead"},
    "flask": {"--app", "-A", "--env-file", "-e", "-h", "--host", "-p", "--port", "--cert",
              "--key", "--extra-files", "--exclude-patterns"},
    "django": {"--settings", "--pythonpath", "-v", "--verbosity"},
}
# uwsgi's few switches; every other uwsgi option takes a value (core/uwsgi.c uwsgi_base_options).
_UWSGI_SWITCHES = {"-M", "--master", "--enable-threads", "-T", "--vacuum", "--die-on-term",
                   "--lazy-apps", "--lazy", "--single-interpreter", "-i", "--need-app",
                   "--strict", "--no-orphans", "--thunder-lock", "--harakiri-verbose",
                   "--memory-report", "--disable-logging", "-L", "--log-master",
                   "--no-default-app", "--catch-exceptions", "--auto-procname",
                   "--honour-stdin", "--log-date", "--logdate", "--show-config", "--cheap"}
# uwsgi options that bind a socket: `--http` runs uWSGI's HTTP router there, the others serve
# from the workers (`--socket` speaks the uwsgi protocol, for nginx's `uwsgi_pass`).
_UWSGI_BINDS = ("--http", "--http-socket", "--socket", "-s", "--uwsgi-socket", "--https",
                "--http11-socket", "--fastcgi-socket", "--shared-socket")
_UWSGI_CONFIGS = (".ini", ".xml", ".yaml", ".yml", ".json")


def _options(args: List[str], server: str) -> Tuple[Dict[str, List[str]], List[str]]:
    """Split server arguments into options (name -> values) and positionals."""
    takes_value = _VALUE_OPTS.get(server, set())
    opts: Dict[str, List[str]] = {}
    positional: List[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--") and "=" in arg:
            name, _, value = arg.partition("=")
            opts.setdefault(name, []).append(value)
        elif i + 1 < len(args) and (arg in takes_value or server == "uwsgi" and
                                    arg.startswith("-") and arg not in _UWSGI_SWITCHES and
                                    not args[i + 1].startswith("-")):
            opts.setdefault(arg, []).append(args[i + 1])
            i += 1
        elif arg.startswith("-"):
            opts.setdefault(arg, []).append("")
        else:
            positional.append(arg)
        i += 1
    return opts, positional


def _last(opts: Dict[str, List[str]], name: str) -> Optional[str]:
    values = opts.get(name)
    return values[-1] if values else None


def app_target(argv: List[str]) -> Optional[AppTarget]:
    """Return the `module:attr` target the server would import."""
    server = server_of(argv)
    if server is None or server == "python" or server == "django":
        return None
    opts, positional = _options(server_args(argv), server)
    chdir = _last(opts, "--chdir") or _last(opts, "--working-dir")
    if server == "uwsgi":
        return _uwsgi_target(opts, chdir)
    if server == "flask":
        # `--app pkg` alone lets Flask find `app`, `application` or a `create_app()` factory
        # (flask/cli.py find_best_app): no single attribute to import, so no target.
        positional = [v for v in opts.get("--app", []) + opts.get("-A", []) if ":" in v][-1:]
    if server == "waitress-serve":
        positional = opts.get("--app", [])[-1:] + positional
    for cand in positional:
        if ":" in cand and not cand.startswith(("unix:", "fd:")):
            module, _, attr = cand.partition(":")
            if module and re.fullmatch(r"[\w.]+", module):
                return AppTarget(
                    server=server,
                    module=module,
                    attr=attr or "app",
                    app_dir=_last(opts, "--app-dir"),
                    chdir=chdir,
                    pythonpath=tuple(
                        p for v in opts.get("--pythonpath", []) for p in v.split(",") if p
                    ),
                )
    for cand in positional:
        # gunicorn defaults the attribute to `application`, the others to `app`.
        if re.fullmatch(r"[\w.]+", cand):
            attr = "application" if server == "gunicorn" else "app"
            return AppTarget(server, cand, attr, _last(opts, "--app-dir"), chdir, ())
    return None


def _uwsgi_target(opts: Dict[str, List[str]], chdir: Optional[str]) -> Optional[AppTarget]:
    """uWSGI's `--module pkg.wsgi:app` (`-w`, `--wsgi`) or `--wsgi-file /srv/app/wsgi.py`,
    with `--callable` (default `application`), as plugins/python/pyloader.c loads them."""
    callable_ = _last(opts, "--callable") or "application"
    module = next((v for name in ("--module", "-w", "--wsgi") for v in opts.get(name, [])[-1:]),
                  None)
    if module:
        mod, _, attr = module.partition(":")
        return AppTarget("uwsgi", mod, attr or callable_, None, chdir, ())
    path = _last(opts, "--wsgi-file") or _last(opts, "--file")
    if path:
        folder, name = os.path.split(path)
        base = os.path.join(chdir, folder) if chdir and not folder.startswith("/") else folder
        return AppTarget("uwsgi", os.path.splitext(name)[0], callable_,
                         base.rstrip("/") or chdir, chdir, ())
    return None


def binds(argv: List[str]) -> List[str]:
    """Return where the server listens: `host:port` or `unix:/path`, defaults included."""
    server = server_of(argv)
    if server is None or server == "python":
        return []
    opts, positional = _options(server_args(argv), server)
    if server in _BINDERS:
        return _BINDERS[server](opts, positional)
    values = opts.get("-b", []) + opts.get("--bind", []) + opts.get("--insecure-bind", [])
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


def process_argv(argv: List[str]) -> List[str]:
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


def _host_port(opts: Dict[str, List[str]], hosts: Tuple[str, ...], ports: Tuple[str, ...],
               host: str, port: str) -> str:
    """`--host`/`--port` style options, with the server's defaults."""
    h = next((opts[name][-1] for name in hosts if opts.get(name)), host)
    p = next((opts[name][-1] for name in ports if opts.get(name)), port)
    return join_hostport(h, p)


def _uvicorn(opts: Dict[str, List[str]], positional: List[str]) -> List[str]:
    if opts.get("--uds"):
        return ["unix:" + opts["--uds"][-1]]
    if opts.get("--fd"):
        return []
    return [_host_port(opts, ("--host",), ("--port",), "127.0.0.1", "8000")]


def _daphne(opts: Dict[str, List[str]], positional: List[str]) -> List[str]:
    """daphne/cli.py: `-u`, `-b`/`-p` (127.0.0.1:8000), `-e` endpoint strings."""
    out = ["unix:" + v for v in opts.get("-u", []) + opts.get("--unix-socket", [])]
    for ep in opts.get("-e", []) + opts.get("--endpoint", []):
        kind, _, rest = ep.partition(":")
        fields = dict(f.partition("=")[::2] for f in rest.split(":") if "=" in f)
        if kind == "unix":
            out.append("unix:" + (fields.get("address") or rest))
        elif kind in ("tcp", "ssl") and fields.get("port"):
            out.append(join_hostport(fields.get("interface", "0.0.0.0"), fields["port"]))
    if (opts.get("-b") or opts.get("--bind") or opts.get("-p") or opts.get("--port")
            or not (out or opts.get("--fd"))):
        out.append(_host_port(opts, ("-b", "--bind"), ("-p", "--port"), "127.0.0.1", "8000"))
    return out


def _granian(opts: Dict[str, List[str]], positional: List[str]) -> List[str]:
    """granian/cli.py: `--uds`, else `--host` (127.0.0.1) and `--port` (8000)."""
    if opts.get("--uds"):
        return ["unix:" + opts["--uds"][-1]]
    return [_host_port(opts, ("--host",), ("--port",), "127.0.0.1", "8000")]


def _waitress(opts: Dict[str, List[str]], positional: List[str]) -> List[str]:
    """waitress/adjustments.py: `--unix-socket`, `--listen` (repeatable; `*` is any), else
    `--host` (0.0.0.0) and `--port` (8080)."""
    if opts.get("--unix-socket"):
        return ["unix:" + opts["--unix-socket"][-1]]
    listen = [w for v in opts.get("--listen", []) for w in v.split()]
    if listen:
        return [("0.0.0.0" + v[1:]) if v.startswith("*:") else v for v in listen]
    return [_host_port(opts, ("--host",), ("--port",), "0.0.0.0", "8080")]


def _uwsgi(opts: Dict[str, List[str]], positional: List[str]) -> List[str]:
    """core/socket.c: `:8000` is every address, a value with no `:` a unix socket path
    (`@name` an abstract one)."""
    out = []
    for name in _UWSGI_BINDS:
        for v in opts.get(name, []):
            v = v.split(",")[0]  # --https addr,cert,key
            if v.startswith(":"):
                out.append("0.0.0.0" + v)
            elif ":" in v and not v.startswith("/"):
                out.append(v)
            elif v:
                out.append("unix:" + v)
    return out


def _flask(opts: Dict[str, List[str]], positional: List[str]) -> List[str]:
    """flask/cli.py run_command: `--host` 127.0.0.1, `--port` 5000."""
    return [_host_port(opts, ("--host", "-h"), ("--port", "-p"), "127.0.0.1", "5000")]


def _django(opts: Dict[str, List[str]], positional: List[str]) -> List[str]:
    """django runserver: `[addr:]port` after `runserver`, 127.0.0.1:8000 (`-6`: [::1])."""
    host = "::1" if opts.get("-6") or opts.get("--ipv6") else "127.0.0.1"
    addrport = positional[1] if len(positional) > 1 else ""
    if addrport.isdigit():
        return [join_hostport(host, addrport)]
    if addrport:
        h, _, port = addrport.rpartition(":")
        return [join_hostport(h.strip("[]") or host, port or "8000")]
    return [join_hostport(host, "8000")]


_BINDERS = {"uvicorn": _uvicorn, "daphne": _daphne, "granian": _granian,
            "waitress-serve": _waitress, "uwsgi": _uwsgi, "flask": _flask, "django": _django}


def uwsgi_config_files(argv: List[str]) -> List[str]:
    """The configuration files a uwsgi command line loads (`--ini FILE`, `uwsgi app.ini`):
    their `[uwsgi]` options are read with `uwsgi_ini_args` when the file was gathered."""
    if server_of(argv) != "uwsgi":
        return []
    opts, positional = _options(server_args(argv), "uwsgi")
    named = [v for name in ("--ini", "--xml", "--yaml", "--yml", "--json") for v in
             opts.get(name, [])]
    return named + [p for p in positional if p.endswith(_UWSGI_CONFIGS)]


def uwsgi_ini_args(text: str, section: str = "uwsgi") -> List[str]:
    """The options of an ini file's `[uwsgi]` section as command-line arguments, so
    `binds(argv + uwsgi_ini_args(text))` and `app_target(...)` read them like flags."""
    args: List[str] = []
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith((";", "#")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
        elif current == section and "=" in line:
            key, _, value = line.partition("=")
            key, value = key.strip(), value.strip()
            name = ("-" if len(key) == 1 else "--") + key
            if value.lower() in ("true", "1", "yes", "on") and name in _UWSGI_SWITCHES:
                args.append(name)
            else:
                args.append(f"{name}={value}")
    return args
