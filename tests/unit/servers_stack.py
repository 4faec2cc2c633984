"""A real stack per server and fault: nginx → hypercorn, daphne, waitress, granian, `flask run`
or `manage.py runserver`, started by hand (output to nohup.out in the app folder), healthy
or failing as that server fails; then the real agent gathers the evidence.

Run as `unshare --pid --fork --mount-proc --net python servers_stack.py SERVER FAULT DIR OUT`
(tests/unit/test_servers.py does): a private process table and network, so the agent sees
this stack alone, and every stack can use the same ports as the others at the same time.
FAULT is `healthy`, `missing-dependency` (the app imports a module that is not installed),
`wrong-target` (the server is told an attribute that does not exist) or `port-conflict`
(another process holds the server's port before it starts).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from managed_stack import NGINX_PORT, PORT, _listening, _nginx, _through_nginx, _wait

BIN = Path(sys.executable).parent
MISSING = "gd_missing_package"
ASGI = '''async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok\\n"})
'''
WSGI = '''def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\\n"]
'''
FLASK = '''from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "ok\\n"
'''
# A Django project as `django-admin startproject site .` lays it out, cut to what serves "/".
DJANGO = {
    "manage.py": '''import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_conf.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
''',
    "site_conf/__init__.py": "",
    "site_conf/settings.py": '''SECRET_KEY = "gd-test-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "site_conf.urls"
WSGI_APPLICATION = "site_conf.wsgi.application"
INSTALLED_APPS = []
DATABASES = {}
''',
    "site_conf/urls.py": '''from django.http import HttpResponse
from django.urls import path

urlpatterns = [path("", lambda request: HttpResponse("ok\\n"))]
''',
    "site_conf/wsgi.py": '''import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_conf.settings")
application = get_wsgi_application()
''',
}
HOST = "127.0.0.1"
# A login shell's few variables (not the test runner's), as the recordings keep their names.
ENV = {"PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin", "HOME": "/root", "LANG": "C.UTF-8",
       "PYTHONUNBUFFERED": "1"}


def command(server: str, target: str) -> list[str]:
    """The command a person types to serve the app on PORT (target: module:attr)."""
    module, _, attr = target.partition(":")
    return {
        "hypercorn": [str(BIN / "hypercorn"), "-b", f"{HOST}:{PORT}", target],
        "daphne": [str(BIN / "daphne"), "-b", HOST, "-p", str(PORT), target],
        "waitress": [str(BIN / "waitress-serve"), f"--listen={HOST}:{PORT}", target],
        "granian": [str(BIN / "granian"), "--interface", "asgi", "--host", HOST, "--port",
                    str(PORT), target],
        "flask": [str(BIN / "flask"), "--app", target, "run", "--port", str(PORT)],
        # The reloader on, as `runserver` runs unless told otherwise.
        "django": [sys.executable, "manage.py", "runserver", f"{HOST}:{PORT}"],
    }[server] if module else []


def _write_app(app: Path, server: str, fault: str) -> str:
    """Write the app the server runs; return the target it is started with."""
    missing = f"import {MISSING}\n" if fault == "missing-dependency" else ""
    if server == "django":
        for name, text in DJANGO.items():
            (app / name).parent.mkdir(parents=True, exist_ok=True)
            (app / name).write_text(text)
        urls = app / "site_conf" / "urls.py"
        urls.write_text(missing + urls.read_text())
        if fault == "wrong-target":
            # Django's own target: the WSGI application runserver loads (settings).
            settings = app / "site_conf" / "settings.py"
            settings.write_text(settings.read_text().replace(
                "site_conf.wsgi.application", "site_conf.wsgi.app"))
        return "site_conf.wsgi:application"
    body = {"hypercorn": ASGI, "daphne": ASGI, "granian": ASGI, "waitress": WSGI,
            "flask": FLASK}[server]
    (app / "main.py").write_text(missing + body)
    return "main:application" if fault == "wrong-target" else "main:app"


def _squat() -> subprocess.Popen[bytes]:
    """Another program already on the port: a file server someone left running."""
    proc = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", HOST, str(PORT)],
                            cwd="/tmp", env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    _wait(lambda: _listening(PORT), "the squatter to listen")
    return proc


def _by_hand(app: Path, argv: list[str]) -> subprocess.Popen[bytes]:
    """`nohup SERVER ... > nohup.out 2>&1 &` from a shell in the app folder."""
    out = open(app / "nohup.out", "ab")  # noqa: SIM115 (the server keeps it)
    return subprocess.Popen(argv, cwd=app, stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True,
                            env=ENV)


def _failed(proc: subprocess.Popen[bytes], log: Path, server: str) -> bool:
    """The server has given up: it exited, or (Django's reloader) its serving thread died
    and the reloader only watches files now."""
    if proc.poll() is not None:
        return True
    text = log.read_text(errors="replace") if log.exists() else ""
    return server == "django" and ("Traceback" in text or "Error:" in text)


def _state(base: Path, server: str, fault: str) -> None:
    """Start the server by hand in the fault's state, for real, and check it is there."""
    app = base / "app"
    target = _write_app(app, server, fault)
    if fault == "port-conflict":
        _squat()
    proc = _by_hand(app, command(server, target))
    log = app / "nohup.out"
    if fault == "healthy":
        _wait(lambda: _listening(PORT), f"{server} to listen", log=log)
        _wait(lambda: _through_nginx() == 200, "nginx to answer 200", log=log)
        return
    _wait(lambda: _failed(proc, log, server), f"{server} to fail", log=log)
    # Its last words flushed, as the agent will find them.
    time.sleep(0.5)


def main(server: str, fault: str, base: Path, out: Path) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
    (base / "app").mkdir(parents=True)
    _nginx(base)
    try:
        _state(base, server, fault)
        from gatewaydoctor.agent.gather import gather

        evidence = gather()
        out.write_text(json.dumps(evidence), encoding="utf-8")
    finally:
        pid = base / "nginx.pid"
        if pid.exists():
            os.kill(int(pid.read_text()), signal.SIGTERM)


assert NGINX_PORT != PORT
if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
