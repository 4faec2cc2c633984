"""What each Python web server (and systemd) writes when it fails: the log lines rules read.

Each pattern is taken from the server's own source (file named beside it) and, where marked
[seen], was also produced by running that server here; docs/signatures.md has the full lines,
versions and URLs. A rule reads these lines, not only a unit's state: most of them are written
while the unit is still "active".
"""

from __future__ import annotations

import re

# --- (a) bind failures: the port (or socket) is taken -------------------------------------
# uvicorn server.py / config.py: `[Errno 98] error while attempting to bind on address
#   ('127.0.0.1', 9100): address already in use` [seen], `[Errno 98] Address already in use`.
# gunicorn sock.py create_sockets: `Connection in use: ('127.0.0.1', 9100)` and `connection to
#   ('127.0.0.1', 9100) failed: [Errno 98] Address already in use` five times, one second
#   apart (`Retrying in 1 second.` is DEBUG, not shown), then `Can't connect to (...)` [seen].
# hypercorn config.py _create_sockets, waitress wasyncore.py bind: a traceback ending
#   `OSError: [Errno 98] Address already in use` [seen].
# daphne server.py listen_error: `Listen failure: Couldn't listen on 127.0.0.1:9100: [Errno 98]
#   Address already in use.` (CRITICAL) [seen].
# granian (Rust socket): `RuntimeError: Address already in use (os error 98)` [seen].
# uWSGI core/socket.c bind_to_tcp: `probably another instance of uWSGI is running on the same
#   address (127.0.0.1:9100).` then `bind(): Address already in use [core/socket.c line 769]`
#   [seen].
# Django runserver.py inner_run: `Error: That port is already in use.` [seen].
# werkzeug serving.py (flask run): `Port 9100 is in use by another program. Either identify
#   and stop that program, or start the server with a different port.` [seen].
IN_USE_RE = re.compile(r"[Aa]ddress already in use|Connection in use: |"
                       r"That port is already in use|is in use by another program|"
                       r"probably another instance of uWSGI is running")
# Where the line says the server wanted to bind: ('h', p), h:p, or just the port.
_ADDR_RES = (re.compile(r"\('([^']*)', (\d+)\)"),                      # uvicorn, gunicorn
             re.compile(r"Couldn't listen on ([^\s:]*|\[[^\]]*\]):(\d+)"),  # daphne
             re.compile(r"same address \(([^)]*?):(\d+)\)"),            # uWSGI
             re.compile(r"()Port (\d+) is in use"))                     # werkzeug
# The same step refused with EACCES: a port below 1024 without root or CAP_NET_BIND_SERVICE
# (or an SELinux policy). [seen all, with CAP_NET_BIND_SERVICE dropped]: uvicorn `[Errno 13]
# error while attempting to bind on address ('127.0.0.1', 81): permission denied`; gunicorn
# `connection to ('127.0.0.1', 81) failed: [Errno 13] Permission denied`; daphne `Listen
# failure: Couldn't listen on 127.0.0.1:81: [Errno 13] Permission denied.`; uWSGI `bind():
# Permission denied [core/socket.c line 769]`; hypercorn (and waitress) a traceback ending
# `PermissionError: [Errno 13] Permission denied` (no path: the app's own PermissionError on a
# file names it); Django `Error: You don't have permission to access that port.`
BIND_DENIED_RE = re.compile(r"\[Errno 13\] error while attempting to bind|"
                            r"\) failed: \[Errno 13\] Permission denied|"
                            r"Couldn't listen on \S+: \[Errno 13\]|bind\(\): Permission denied|"
                            r"You don't have permission to access that port|"
                            r"^PermissionError: \[Errno 13\] Permission denied$")
# gunicorn's master logs it, then sleeps a second and tries again (five times in all).
BIND_RETRY_RE = re.compile(r"Connection in use: ")
# What a server logs once it is bound, which ends an episode of bind retries.
BOUND_RE = re.compile(r"Listening at: |Uvicorn running on |Running on |Serving on |"
                      r"Listening on TCP address |uwsgi socket \d+ bound to |"
                      r"Starting development server at |bound to (?:TCP|UNIX) address")

# What nginx logs when something that is not the app answers on the port (port-conflict).
NGINX_SQUATTED_RE = re.compile(r"upstream prematurely closed|Connection reset by peer|"
                               r"no valid HTTP/1.0 header|Broken pipe")


def in_use_address(message: str) -> tuple[str, int] | None:
    """(host, port) an address-in-use line names ('' for every address), else None."""
    for pattern in _ADDR_RES:
        m = pattern.search(message)
        if m:
            return m.group(1).strip("[]"), int(m.group(2))
    return None


# --- (b)/(d) the app cannot be imported, or has no such object ---------------------------
# uvicorn importer.py: `Error loading ASGI app. Could not import module "m".` /
#   `Error loading ASGI app. Attribute "a" not found in module "m".` [seen].
# gunicorn util.py import_app (and flask/cli.py find_app_by_string): `Failed to find attribute
#   'a' in 'm'.` [seen both]; gunicorn also `Failed to find application object: 'x'`.
# hypercorn utils.py load_application: `NoAppError: Cannot load application from 'm:a',
#   module not found.` / `..., application not found.` [seen].
# flask/cli.py locate_app: `Error: Could not import 'm'.` [seen].
# granian _internal.py load_module: `RuntimeError: Could not import 'm'.` [seen].
# waitress runner.py (3.0): `There was an exception (ModuleNotFoundError) importing your
#   module.` [seen]; (main) `Cannot import WSGI application 'm:a': ...` (AppResolutionError).
# uWSGI plugins/python/pyloader.c: `unable to load app 0 (mountpoint='') (callable not found
#   or import error)` [seen]; python_plugin.c `failed to open python file <f>` [seen].
UVICORN_MODULE_RE = re.compile(r'Error loading ASGI app\. Could not import module "([^"]+)"')
UVICORN_ATTR_RE = re.compile(r'Error loading ASGI app\. Attribute "([^"]+)" not found in '
                             r'module "([^"]+)"')
FIND_ATTR_RE = re.compile(r"Failed to find attribute '([^']+)' in '([^']+)'|"
                          r"Failed to find application object: '([^']+)'")
HYPERCORN_NOAPP_RE = re.compile(r"Cannot load application from '([^']+)', "
                                r"(module|application) not found")
COULD_NOT_IMPORT_RE = re.compile(r"(?:Error|RuntimeError): Could not import '([\w.]+)'")
WAITRESS_IMPORT_RE = re.compile(r"There was an exception \((\w+)\) importing your module|"
                                r"Cannot import WSGI application '([^']+)'")
UWSGI_NO_APP_RE = re.compile(r"unable to load app \d+ \(mountpoint='[^']*'\) \(callable not "
                             r"found or import error\)|failed to open python file (\S+)")
# waitress 3.0 prints no traceback: `Error: No module named 'x'` and `1. No module named 'x'`
# name the module, which may be a dependency rather than the app [seen].
NO_MODULE_NAMED_RE = re.compile(r"No module named '([\w.]+)'")
# Django core/servers/basehttp.py get_internal_wsgi_application (runserver's handler, from
#   settings.WSGI_APPLICATION): `django.core.exceptions.ImproperlyConfigured: WSGI application
#   'site_conf.wsgi.app' could not be loaded; Error importing module.` [seen].
DJANGO_WSGI_RE = re.compile(r"WSGI application '([\w.]+)' could not be loaded")
APP_TARGET_RES = (UVICORN_MODULE_RE, UVICORN_ATTR_RE, FIND_ATTR_RE, HYPERCORN_NOAPP_RE,
                  COULD_NOT_IMPORT_RE, WAITRESS_IMPORT_RE, DJANGO_WSGI_RE)
# uWSGI stays up without an app (wsgi_handlers.c), answering every request 500:
#   `--- no python application found, check your startup logs for errors ---` [seen].
UWSGI_NO_PYTHON_APP_RE = re.compile(r"no python application found, check your startup logs")
# Python's own words when the attribute is missing: `module 'm' has no attribute 'a'`
# (daphne utils.py import_by_path, granian load_target: getattr) [seen].
NO_ATTRIBUTE_RE = re.compile(r"module '([\w.]+)' has no attribute '(\w+)'")
# The frames where a server resolves `module:attr` with getattr: an AttributeError raised
# there is about the target (daphne/utils.py import_by_path, granian/_internal.py
# load_target) [seen both]; waitress 3.0 runner.py prints it as `1. module 'm' has no
# attribute 'a'` after `There was an exception (AttributeError) importing your module.` [seen].
TARGET_LOADER_RE = re.compile(r'File "[^"]*/(?:daphne/utils\.py", line \d+, in import_by_path|'
                              r'granian/_internal\.py", line \d+, in load_target)|'
                              r"There was an exception \(AttributeError\) importing your module")


def logged_target(message: str) -> tuple[str, str] | None:
    """(module, attr) of the app target a server's line names, when it names both."""
    if m := UVICORN_ATTR_RE.search(message):
        return m.group(2), m.group(1)
    if (m := FIND_ATTR_RE.search(message)) and m.group(1):
        return m.group(2), m.group(1)
    for pattern, group in ((HYPERCORN_NOAPP_RE, 1), (WAITRESS_IMPORT_RE, 2),
                           (DJANGO_WSGI_RE, 1)):  # `m:a`, or Django's dotted path `m.a`
        m = pattern.search(message)
        named = m.group(group) if m else None
        if named and (":" in named or "." in named):
            module, _, attr = named.rpartition(":" if ":" in named else ".")
            return module, attr
    return None


def target_in_output(messages: list[str]) -> tuple[str, str] | None:
    """(module, attr) of the target a server's output says it could not load: the newest
    line naming it, else `module 'm' has no attribute 'a'` raised in the server's loader."""
    for i in range(len(messages) - 1, -1, -1):
        said = logged_target(messages[i])
        attr = NO_ATTRIBUTE_RE.search(messages[i])
        if said is None and attr and any(TARGET_LOADER_RE.search(m)
                                         for m in messages[max(0, i - 5):i]):
            said = attr.group(1), attr.group(2)
        if said:
            return said
    return None


# Which server wrote an output file (a nohup.out its process no longer writes): the console
# script or package of a traceback's outermost server frame, or the server's own banner or
# usage text (uvicorn main.py, gunicorn arbiter.py, daphne server.py, granian
# server/common.py, waitress runner.py / server.py, flask/cli.py, django runserver.py) [seen].
_SERVER_FRAME_RE = re.compile(r'File "[^"]*/(?:site-packages|bin)/(uvicorn|gunicorn|hypercorn|'
                              r'daphne|waitress|waitress-serve|granian|flask|django)[/"]')
_SERVER_BANNERS = (
    (re.compile(r"Uvicorn running on "), "uvicorn"),
    (re.compile(r"Starting gunicorn "), "gunicorn"),
    (re.compile(r"Starting server at (?:tcp|unix|fd|ssl):"), "daphne"),
    (re.compile(r"Starting granian"), "granian"),
    (re.compile(r"\[OPTS\] MODULE:OBJECT|INFO:waitress:Serving on "), "waitress-serve"),
    (re.compile(r"Usage: flask run |Serving Flask app "), "flask"),
    (re.compile(r"Starting development server at "), "django"),
)


# The interpreter a traceback ran in, from its frames: `<prefix>/lib/python3.11/site-packages/`
# is that of `<prefix>/bin/python3.11` (a venv, /usr/local, pyenv); not a user's ~/.local.
_SITE_PACKAGES_RE = re.compile(r'File "(/[^"]+?)/lib/(python3(?:\.\d+)?)/site-packages/')


def interpreter_of(traceback_text: str) -> str | None:
    """The Python a traceback's site-packages frames belong to, else None."""
    m = _SITE_PACKAGES_RE.search(traceback_text)
    return f"{m.group(1)}/bin/{m.group(2)}" if m and "/.local" not in m.group(1) else None


def server_in_output(messages: list[str]) -> str | None:
    """The server an output file is from, by the first line that tells, else None."""
    for message in messages:
        if m := _SERVER_FRAME_RE.search(message):
            name = m.group(1)
            return "waitress-serve" if name == "waitress" else name
        if said := next((s for p, s in _SERVER_BANNERS if p.search(message)), None):
            return said
    return None

# --- (c) workers killed or timed out inside a living master -------------------------------
# gunicorn arbiter.py murder_workers: `WORKER TIMEOUT (pid:N)` [seen]; reap_workers:
#   `Worker (pid:N) was sent SIGKILL! Perhaps out of memory?` [seen].
# uWSGI core/master.c: `DAMN ! worker 1 (pid: N) died, killed by signal 9 :( trying
#   respawn ...` [seen]; `... MISTERIOUSLY killed by signal 9` (2.0; MYSTERIOUSLY on master);
#   `DAMN ! worker 2 (pid: N) died :( trying respawn ...` (it exited) [seen].
# uWSGI core/master_utils.c uwsgi_master_check_harakiri (--harakiri): `*** HARAKIRI ON WORKER
#   1 (pid: N, try: 1, graceful: yes) ***` [seen] (2.0.2x before it: `(pid: N, try: 1)`);
#   it then SIGKILLs the worker: a `killed by signal 9` line follows [seen].
# uvicorn supervisors/multiprocess.py: `Child process [N] died` (--workers).
# granian server/common.py: `Unexpected exit from worker-1` [seen], then
#   `Worker crash loop detected, exiting`.
GUNICORN_TIMEOUT_RE = re.compile(r"WORKER TIMEOUT \(pid:(\d+)\)")
GUNICORN_SIGKILL_RE = re.compile(r"Worker \(pid:(\d+)\) was sent SIGKILL! Perhaps out of "
                                 r"memory\?")
UWSGI_HARAKIRI_RE = re.compile(r"HARAKIRI ON WORKER (\d+) \(pid: (\d+)")
UWSGI_SIGKILL_RE = re.compile(r"DAMN ! worker (\d+) \(pid: (\d+)\) (?:died, |M[IY]STERIOUSLY )"
                              r"killed by signal 9 ")
# Per server: (a worker was SIGKILLed: pid group, the server killed it for a timeout: pid
# group). A SIGKILL whose pid the server timed out itself is not the OOM killer's.
WORKER_KILLS = {
    "gunicorn": (GUNICORN_SIGKILL_RE, 1, GUNICORN_TIMEOUT_RE, 1),
    "uwsgi": (UWSGI_SIGKILL_RE, 2, UWSGI_HARAKIRI_RE, 2),
}
WORKER_TIMEOUTS = {"gunicorn": (GUNICORN_TIMEOUT_RE, 1), "uwsgi": (UWSGI_HARAKIRI_RE, 2)}
# A worker that died on its own (crashed, exited) while the master lives on.
WORKER_DIED_RE = re.compile(r"Worker \(pid:(\d+)\) exited with code \d+|"
                            r"DAMN ! worker \d+ \(pid: (\d+)\) died :\(|"
                            r"Child process \[(\d+)\] died|Unexpected exit from worker-(\d+)")

# --- systemd: the exec/chdir step failed with EACCES (cause: a mode, not a missing path) ---
# systemd v252 core/execute.c exec_child (v255+ exec-invoke.c): `Failed to locate executable
#   <p>: <err>` (v256+ `Unable to locate executable '<p>': <err>`), `Failed to execute <p>:
#   <err>`, `Failed at step EXEC spawning <p>: <err>`; `Changing to the requested working
#   directory failed: <err>` and `Failed at step CHDIR spawning <p>: <err>`.
EXEC_DENIED_RE = re.compile(r"(?:Failed to locate executable|Unable to locate executable|"
                            r"Failed to execute|Failed at step EXEC spawning) '?([^\s']+?)'?: "
                            r"Permission denied")
CHDIR_DENIED_RE = re.compile(r"Changing to the requested working directory failed: "
                             r"Permission denied|Failed at step CHDIR spawning \S+: "
                             r"Permission denied")
