"""uWSGI behind `uwsgi_pass`: the agent's uwsgi-protocol probe and log reading, against a
real uWSGI (Debian's uwsgi-core and python3 plugin, which scripts/test installs), and the
uwsgi_pass endpoints read from an nginx dump."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatewaydoctor.agent import uwsgi
from gatewaydoctor.evidence import SCHEMA, Evidence
from gatewaydoctor.facts.signatures import IN_USE_RE, UWSGI_NO_PYTHON_APP_RE
from gatewaydoctor.formats import sources
from gatewaydoctor.parse import uwsgi as uwsgi_logs

UWSGI = shutil.which("uwsgi")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

APP = """\
def application(environ, start_response):
    body = ("%s %s %s" % (environ["REQUEST_METHOD"], environ["PATH_INFO"],
                          environ.get("HTTP_HOST"))).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-App", "notes")])
    return [body]
"""
BROKEN = "import psycopg2_is_not_installed_here\n" + APP


def _evidence(*items: dict[str, object]) -> Evidence:
    return Evidence.from_dict({"schema": SCHEMA, "host": "h", "time": "t", "tool_version": "0",
                               "target_url": None, "failures": [],
                               "items": {str(i["source"]): i for i in items}})


@pytest.fixture
def need_uwsgi() -> None:
    if UWSGI is None:
        if IN_CI:
            pytest.fail("uwsgi is needed in CI (scripts/test installs uwsgi-core)")
        pytest.skip("uwsgi is not installed (scripts/test installs uwsgi-core)")


def _start(tmp: Path, app: str, socket_opt: str) -> subprocess.Popen[bytes]:
    (tmp / "app.py").write_text(app)
    ini = tmp / "app.ini"
    ini.write_text(f"[uwsgi]\nplugins = python3\nchdir = {tmp}\nwsgi-file = app.py\n"
                   f"master = true\nprocesses = 1\nsocket = {socket_opt}\n"
                   f"logto = {tmp}/uwsgi.log\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    assert UWSGI is not None
    return subprocess.Popen([UWSGI, "--ini", str(ini)], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _log(tmp: Path, needle: str, proc: subprocess.Popen[bytes] | None = None) -> str:
    """The log once it holds needle (uWSGI writes it as it starts)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        path = tmp / "uwsgi.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        if needle in text:
            return text
        time.sleep(0.1)
    raise AssertionError(f"uWSGI never logged {needle!r}: {text[-2000:]}")


@pytest.fixture
def server(tmp_path: Path, need_uwsgi: None) -> Iterator[tuple[Path, str]]:
    """A real uWSGI serving a WSGI app on a unix socket, as nginx's uwsgi_pass reaches it."""
    sock = tmp_path / "notes.sock"
    proc = _start(tmp_path, APP, str(sock))
    try:
        _log(tmp_path, "spawned uWSGI worker 1")
        yield tmp_path, f"unix:{sock}"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)


def test_probe_speaks_uwsgi(server: tuple[Path, str]) -> None:
    tmp, endpoint = server
    item = uwsgi.probe(sources.uwsgi_probe(endpoint + "/notes/"), endpoint, "/notes/?q=1")
    d = item["data"]
    assert item["error"] is None, item
    assert (d["status"], d["probe"], d["content_type"]) == (200, "uwsgi", "text/plain")
    # The app saw a WSGI request built from the uwsgi packet: method, path, Host.
    assert d["body_head"] == "GET /notes/ localhost"
    log = _log(tmp, "GET /notes/?q=1 => generated")
    assert "(HTTP/1.1 200)" in log


def test_http_is_not_sent_to_a_uwsgi_socket_but_a_connect_is(server: tuple[Path, str]) -> None:
    """The plan for a uwsgi_pass endpoint: a connect and uwsgi GETs, never HTTP."""
    from gatewaydoctor.agent import probes

    _tmp, endpoint = server
    connect = probes.tcp_probe(sources.connect_probe(endpoint), endpoint)
    assert connect["data"]["connected"] is True


def test_no_python_application_found(tmp_path: Path, need_uwsgi: None) -> None:
    """An import error leaves uWSGI up in full dynamic mode: 500 to every request, and its
    log says why at start and at each request (the lines the rules read)."""
    sock = tmp_path / "broken.sock"
    proc = _start(tmp_path, BROKEN, str(sock))
    try:
        _log(tmp_path, "spawned uWSGI worker 1")
        endpoint = f"unix:{sock}"
        item = uwsgi.probe(sources.uwsgi_probe(endpoint + "/"), endpoint, "/")
        assert item["data"]["status"] == 500
        text = _log(tmp_path, "no python application found")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
    assert "ModuleNotFoundError: No module named 'psycopg2_is_not_installed_here'" in text
    assert "*** no app loaded. going in full dynamic mode ***" in text
    assert UWSGI_NO_PYTHON_APP_RE.search(text)
    # The log as the agent reads it, and as the parser turns it into the unit's journal.
    tail = uwsgi.read_log(str(tmp_path / "uwsgi.log"), "notes.service", 1 << 20, 2000)
    entries = uwsgi_logs.log_journal(_evidence(tail))
    assert {e.unit for e in entries} == {"notes.service"}
    assert any("No module named 'psycopg2_is_not_installed_here'" in e.message for e in entries)
    assert entries[0].source == f"{tmp_path}/uwsgi.log:1"


def test_port_taken(tmp_path: Path, need_uwsgi: None) -> None:
    """uWSGI on a taken port exits at once, naming the address (signatures.IN_USE_RE)."""
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    port = squatter.getsockname()[1]
    try:
        proc = _start(tmp_path, APP, f"127.0.0.1:{port}")
        assert proc.wait(timeout=15) != 0
    finally:
        squatter.close()
    text = _log(tmp_path, "bind(): Address already in use")
    line = next(x for x in text.splitlines() if IN_USE_RE.search(x))
    assert line == ("probably another instance of uWSGI is running on the same address "
                    f"(127.0.0.1:{port}).")


def test_current_run_only() -> None:
    """Each start writes `*** Starting uWSGI`: what an earlier run said is not kept."""
    text = ("*** Starting uWSGI 2.0.21-debian (64bit) on [Tue Dec  1 21:17:20 2026] ***\n"
            "bind(): Address already in use [core/socket.c line 769]\n"
            "*** Starting uWSGI 2.0.21-debian (64bit) on [Tue Dec  1 21:18:20 2026] ***\n"
            "spawned uWSGI worker 1 (pid: 251, cores: 1)\n")
    ev = _evidence({"source": sources.uwsgi_log("/var/log/uwsgi/a.log"), "kind": "file",
                    "path": "/var/log/uwsgi/a.log", "stdout": text, "offset": 0,
                    "data": {"unit": "a.service"}})
    got = [(e.source, e.message) for e in uwsgi_logs.log_journal(ev)]
    assert got == [("/var/log/uwsgi/a.log:3", text.splitlines()[2]),
                   ("/var/log/uwsgi/a.log:4", text.splitlines()[3])]


DUMP = """\
# configuration file /etc/nginx/nginx.conf:
http {
    upstream django { server unix:/run/app/app.sock; server 10.0.0.2:3031; }
    include /etc/nginx/sites-enabled/*;
}

# configuration file /etc/nginx/sites-enabled/notes.conf:
server {
    listen 8088;
    location / { include uwsgi_params; uwsgi_pass 127.0.0.1:3031; }
    location = /ping { uwsgi_pass uwsgi://127.0.0.1:3031; }
    location ~ \\.php$ { uwsgi_pass django; }
    location /api/ { proxy_pass http://127.0.0.1:9000; }
}
"""


def test_passes_from_dump() -> None:
    assert uwsgi.passes(DUMP) == {"127.0.0.1:3031": ["/", "/ping"],
                                  "unix:/run/app/app.sock": [], "10.0.0.2:3031": []}


def test_config_and_log_files() -> None:
    argv = ["/usr/bin/uwsgi", "--ini", "/srv/notes/uwsgi.ini:prod"]
    assert uwsgi.config_files(argv) == ["/srv/notes/uwsgi.ini"]
    assert uwsgi.config_files(["uwsgi", "app.ini"], "/srv/x") == ["/srv/x/app.ini"]
    ini = "[uwsgi]\nlogto = /var/log/uwsgi/notes.log\nlogger = file:/var/log/u2.log\n"
    assert uwsgi.log_paths(argv + ["--daemonize", "/var/log/d.log"], [ini]) == [
        "/var/log/d.log", "/var/log/uwsgi/notes.log", "/var/log/u2.log"]


def test_recorded_uwsgi_unit_reads_its_ini_and_log() -> None:
    """A recording of the lab's uwsgi stack (wsgi.py unreadable): the unit's socket and
    module come from its ini, its log file's current run is its journal, and it counts as
    failing although systemd says active/running (no app loaded)."""
    from gatewaydoctor.evidence import load
    from gatewaydoctor.parse import build_facts

    facts = build_facts(load(Path(__file__).parents[1] / "data" / "stacks" /
                             "uwsgi-permission-code.json"))
    unit = facts.unit("notes-uwsgi.service")
    assert unit is not None and (unit.active_state, unit.sub_state) == ("active", "running")
    assert [b.label for b in unit.binds] == ["127.0.0.1:3031"]
    assert unit.app is not None and (unit.app.module, unit.app.attr) == (
        "notesapp.wsgi", "application")
    log = [e for e in facts.journal_of(unit.name) if e.source.startswith("/var/log/uwsgi/")]
    assert log[0].message.startswith("*** Starting uWSGI 2.0.21-debian")
    assert facts.serves_no_app(unit) and facts.failing(unit)
    probes = [p for p in facts.probes or () if p.protocol == "uwsgi"]
    assert {(p.endpoint, p.status) for p in probes} == {("127.0.0.1:3031", 500)}
    assert all(p.label.startswith("uwsgi GET 127.0.0.1:3031/") for p in probes)
