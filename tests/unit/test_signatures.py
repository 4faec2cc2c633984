"""Every server's failure lines, as the servers wrote them here (docs/signatures.md), read by
the patterns the rules use (facts/signatures.py)."""

from __future__ import annotations

import re

import pytest

from gatewaydoctor.facts import signatures as sig

# (a) bind failures, with where the server wanted to bind when the line says it. Each line
# was printed by the server itself, started on a port a plain socket held (18:19 UTC run).
IN_USE = [
    ("ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 9100): "
     "address already in use", ("127.0.0.1", 9100)),                                 # uvicorn
    ("[2026-12-01 18:19:55 +0000] [14862] [ERROR] Connection in use: ('127.0.0.1', 9100)",
     ("127.0.0.1", 9100)),                                                            # gunicorn
    ("[2026-12-01 18:19:55 +0000] [14862] [ERROR] connection to ('127.0.0.1', 9100) failed: "
     "[Errno 98] Address already in use", ("127.0.0.1", 9100)),                       # gunicorn
    ("OSError: [Errno 98] Address already in use", None),                  # hypercorn, waitress
    ("2026-12-01 18:20:00,734 CRITICAL Listen failure: Couldn't listen on 127.0.0.1:9100: "
     "[Errno 98] Address already in use.", ("127.0.0.1", 9100)),                      # daphne
    ("RuntimeError: Address already in use (os error 98)", None),                     # granian
    ("probably another instance of uWSGI is running on the same address (127.0.0.1:9100).",
     ("127.0.0.1", 9100)),                                                            # uWSGI
    ("probably another instance of uWSGI is running on the same address (:8000).",
     ("", 8000)),                                                                     # uWSGI
    ("bind(): Address already in use [core/socket.c line 769]", None),                # uWSGI
    ("Error: That port is already in use.", None),                                    # Django
    ("Port 9100 is in use by another program. Either identify and stop that program, or start "
     "the server with a different port.", ("", 9100)),                                # werkzeug
]


@pytest.mark.parametrize(("line", "address"), IN_USE)
def test_address_in_use(line: str, address: tuple[str, int] | None) -> None:
    assert sig.IN_USE_RE.search(line)
    assert sig.in_use_address(line) == address


@pytest.mark.parametrize("line", [
    "[2026-12-01 18:20:06 +0000] [15170] [INFO] Listening at: http://127.0.0.1:9201 (15170)",
    "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)",
    "[INFO] Listening at: http://127.0.0.1:9201",
    "uwsgi socket 0 bound to TCP address 127.0.0.1:9205 fd 3",
    "2026-12-01 18:20:00,734 INFO     Listening on TCP address 127.0.0.1:8001",
    "INFO:waitress:Serving on http://127.0.0.1:8080",
])
def test_bound(line: str) -> None:
    assert sig.BOUND_RE.search(line) and not sig.IN_USE_RE.search(line)


# (b)/(d) the app target cannot be loaded: which pattern reads each server's line.
@pytest.mark.parametrize(("line", "pattern"), [
    ('ERROR:    Error loading ASGI app. Could not import module "nomod".',
     sig.UVICORN_MODULE_RE),
    ('ERROR:    Error loading ASGI app. Attribute "nope" not found in module "app".',
     sig.UVICORN_ATTR_RE),
    ("Failed to find attribute 'nope' in 'app'.", sig.FIND_ATTR_RE),               # gunicorn
    ("Error: Failed to find attribute 'nope' in 'app'.", sig.FIND_ATTR_RE),        # flask run
    ("hypercorn.utils.NoAppError: Cannot load application from 'nomod:app', module not found.",
     sig.HYPERCORN_NOAPP_RE),
    ("hypercorn.utils.NoAppError: Cannot load application from 'app:nope', application not "
     "found.", sig.HYPERCORN_NOAPP_RE),
    ("Error: Could not import 'nomod'.", sig.COULD_NOT_IMPORT_RE),                 # flask run
    ("RuntimeError: Could not import 'nomod'.", sig.COULD_NOT_IMPORT_RE),          # granian
    ("There was an exception (ModuleNotFoundError) importing your module.",
     sig.WAITRESS_IMPORT_RE),
    ("unable to load app 0 (mountpoint='') (callable not found or import error)",
     sig.UWSGI_NO_APP_RE),
    ("failed to open python file nofile.py", sig.UWSGI_NO_APP_RE),
    ("--- no python application found, check your startup logs for errors ---",
     sig.UWSGI_NO_PYTHON_APP_RE),
    ("AttributeError: module 'app' has no attribute 'nope'", sig.NO_ATTRIBUTE_RE),  # daphne
])
def test_app_target_lines(line: str, pattern: re.Pattern[str]) -> None:
    assert pattern.search(line)


# (c) workers killed or timed out inside a living master (uWSGI 2.0.30 with --harakiri 2,
# then `kill -9` of a worker, then a request whose handler calls os._exit(1)).
def test_uwsgi_worker_kills() -> None:
    harakiri = "Tue Dec  1 18:20:38 2026 - *** HARAKIRI ON WORKER 1 (pid: 15916, try: 1, " \
               "graceful: yes) ***"
    killed = "DAMN ! worker 1 (pid: 15916) died, killed by signal 9 :( trying respawn ..."
    old = "DAMN ! worker 1 (pid: 16026) MISTERIOUSLY killed by signal 9 :( trying respawn ..."
    exited = "DAMN ! worker 2 (pid: 15917) died :( trying respawn ..."
    m = sig.UWSGI_HARAKIRI_RE.search(harakiri)
    assert m and m.group(2) == "15916"
    assert sig.UWSGI_HARAKIRI_RE.search("*** HARAKIRI ON WORKER 3 (pid: 77, try: 1) ***")
    k = sig.UWSGI_SIGKILL_RE.search(killed)
    assert k and k.group(2) == "15916"
    assert sig.UWSGI_SIGKILL_RE.search(old)
    assert not sig.UWSGI_SIGKILL_RE.search(exited) and sig.WORKER_DIED_RE.search(exited)


def test_systemd_denied() -> None:
    m = sig.EXEC_DENIED_RE.search("app.service: Failed at step EXEC spawning "
                                  "/srv/app/venv/bin/python: Permission denied")
    assert m and m.group(1) == "/srv/app/venv/bin/python"
    m = sig.EXEC_DENIED_RE.search("app.service: Unable to locate executable "
                                  "'/srv/app/venv/bin/python': Permission denied")
    assert m and m.group(1) == "/srv/app/venv/bin/python"
    assert not sig.EXEC_DENIED_RE.search("app.service: Failed at step EXEC spawning "
                                         "/srv/app/venv/bin/python: No such file or directory")
    assert sig.CHDIR_DENIED_RE.search("app.service: Changing to the requested working "
                                      "directory failed: Permission denied")


# The bind refused with EACCES (each server run here with CAP_NET_BIND_SERVICE dropped, port 81).
@pytest.mark.parametrize("line", [
    "ERROR:    [Errno 13] error while attempting to bind on address ('127.0.0.1', 81): "
    "permission denied",                                                              # uvicorn
    "[2026-12-01 19:12:41 +0000] [24333] [ERROR] connection to ('127.0.0.1', 81) failed: "
    "[Errno 13] Permission denied",                                                   # gunicorn
    "2026-12-01 19:12:47,038 CRITICAL Listen failure: Couldn't listen on 127.0.0.1:81: "
    "[Errno 13] Permission denied.",                                                  # daphne
    "bind(): Permission denied [core/socket.c line 769]",                             # uWSGI
    "PermissionError: [Errno 13] Permission denied",                                  # hypercorn
    "Error: You don't have permission to access that port.",                          # Django
])
def test_bind_denied(line: str) -> None:
    assert sig.BIND_DENIED_RE.search(line) and not sig.IN_USE_RE.search(line)


def test_a_file_permission_error_is_not_a_bind() -> None:
    assert not sig.BIND_DENIED_RE.search(
        "PermissionError: [Errno 13] Permission denied: '/srv/app/backend/.env'")
