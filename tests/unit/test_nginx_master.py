"""The running nginx master's own binary and -c/-p/-g: `nginx -T` reads what runs, not the
default configuration (custom builds, OpenResty, the Baota panel, /usr/local/nginx)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gatewaydoctor.agent import nginxscan
from gatewaydoctor.agent.gather import _nginx_test_of
from gatewaydoctor.formats import sources

NGINX = Path("/usr/sbin/nginx")
MARKER = "gatewaydoctor_marker_8d3f"

# Titles as nginx writes them (argv joined by spaces, -g's quotes gone), from real hosts.
TITLES = [
    ("nginx: master process /www/server/nginx/sbin/nginx -c /www/server/nginx/conf/nginx.conf",
     {"binary": "/www/server/nginx/sbin/nginx", "conf": "/www/server/nginx/conf/nginx.conf",
      "prefix": None, "globals": None, "error_log": None}),
    ("nginx: master process /usr/local/openresty/nginx/sbin/nginx -p /usr/local/openresty/nginx/"
     " -c conf/nginx.conf",
     {"binary": "/usr/local/openresty/nginx/sbin/nginx", "conf": "conf/nginx.conf",
      "prefix": "/usr/local/openresty/nginx/", "globals": None, "error_log": None}),
    # The OpenResty image: `openresty -g 'daemon off;'` through its bin/openresty symlink.
    ("nginx: master process /usr/local/openresty/bin/openresty -g daemon off;",
     {"binary": "/usr/local/openresty/bin/openresty", "conf": None, "prefix": None,
      "globals": "daemon off;", "error_log": None}),
    ("nginx: master process /usr/sbin/nginx -g daemon on; master_process on;",
     {"binary": "/usr/sbin/nginx", "conf": None, "prefix": None,
      "globals": "daemon on; master_process on;", "error_log": None}),
    # The official image: a bare name (the binary then comes from /proc/PID/exe).
    ("nginx: master process nginx -g daemon off;",
     {"binary": "nginx", "conf": None, "prefix": None, "globals": "daemon off;",
      "error_log": None}),
    # /proc/PID/cmdline as read: the title then NUL padding; -g before -c, attached values.
    ("nginx: master process ./sbin/nginx -g pid /run/x.pid; worker_processes 2; -c conf/a.conf"
     " -p/opt/ng/ -e stderr\0\0\0\0",
     {"binary": "./sbin/nginx", "conf": "conf/a.conf", "prefix": "/opt/ng/",
      "globals": "pid /run/x.pid; worker_processes 2;", "error_log": "stderr"}),
]


@pytest.mark.parametrize(("title", "expected"), TITLES)
def test_master_title_is_parsed(title: str, expected: dict[str, Any]) -> None:
    assert nginxscan.parse_master(title) == expected


@pytest.mark.parametrize("title", [
    "nginx: worker process", "nginx: cache manager process", "/usr/sbin/nginx -c /x.conf",
    "nginx: master process ", ""])
def test_not_a_master(title: str) -> None:
    assert nginxscan.parse_master(title) is None


def test_command_repeats_the_masters_options() -> None:
    master = {"path": "/usr/local/openresty/nginx/sbin/nginx", "conf": "conf/nginx.conf",
              "prefix": "/usr/local/openresty/nginx/", "globals": "daemon off;",
              "error_log": None}
    assert nginxscan.command(master) == [
        "/usr/local/openresty/nginx/sbin/nginx", "-p", "/usr/local/openresty/nginx/",
        "-c", "conf/nginx.conf", "-g", "daemon off;"]
    # Read from disk when -T fails: a relative -c is under the prefix, as nginx resolves it.
    assert nginxscan.conf_path("", master) == "/usr/local/openresty/nginx/conf/nginx.conf"
    assert nginxscan.conf_path("configure arguments: --prefix=/usr/local/nginx",
                               {"conf": "conf/x.conf"}) == "/usr/local/nginx/conf/x.conf"
    assert nginxscan.conf_path("--conf-path=/etc/nginx/nginx.conf", None) == (
        "/etc/nginx/nginx.conf")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


@pytest.fixture(params=["nginx", "openresty"])
def own_nginx(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A real nginx started with its own -c, -e and -g (daemon, pid in tmp), stopped after;
    also through a symlink named `openresty`, as OpenResty's bin/openresty (another comm)."""
    if not NGINX.exists():
        pytest.skip("Debian's /usr/sbin/nginx is not installed")
    binary = NGINX
    if request.param == "openresty":
        binary = tmp_path / "bin" / "openresty"
        binary.parent.mkdir()
        binary.symlink_to(NGINX)
    port = _free_port()
    (tmp_path / "sites").mkdir()
    (tmp_path / "sites" / "app.conf").write_text(
        f"# {MARKER}\nserver {{\n    listen 127.0.0.1:{port};\n    server_name {MARKER};\n"
        "    location / { return 204; }\n}\n")
    temps = "".join(f"    {kind}_temp_path {tmp_path}/{kind};\n"
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"worker_processes 1;\nerror_log {tmp_path}/error.log;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n    access_log off;\n{temps}    include {tmp_path}/sites/*.conf;\n}}\n")
    pidfile = tmp_path / "nginx.pid"
    subprocess.run([str(binary), "-c", str(conf), "-e", str(tmp_path / "error.log"),
                    "-g", f"daemon on; pid {pidfile};"], check=True, timeout=10)
    pid = int(pidfile.read_text())
    # The pid file is written before the master renames itself (its title is what is read).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not Path(f"/proc/{pid}/cmdline").read_bytes(
            ).startswith(b"nginx: master process"):
        time.sleep(0.01)
    try:
        yield {"pid": pid, "conf": str(conf), "port": port, "dir": tmp_path,
               "binary": str(binary)}
    finally:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while not _gone(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(pid)


def test_the_running_master_is_found(own_nginx: dict[str, Any]) -> None:
    found = [m for m in nginxscan.masters() if m["pid"] == own_nginx["pid"]]
    assert len(found) == 1
    master = found[0]
    assert master["path"] == own_nginx["binary"]
    assert master["conf"] == own_nginx["conf"]
    assert master["globals"] == f"daemon on; pid {own_nginx['dir'] / 'nginx.pid'};"
    # The runtime listing has it too (master and worker), whatever its comm.
    listed = nginxscan.runtime(sources.NGINX_RUNTIME, "", {})["data"]["processes"]
    roles = {p["role"] for p in listed
             if own_nginx["pid"] in (p["pid"], p["ppid"])}
    assert roles == {"master", "worker"}


def test_dump_reads_the_running_masters_config(own_nginx: dict[str, Any]) -> None:
    ours = [m for m in nginxscan.masters() if m["pid"] == own_nginx["pid"]]
    item = nginxscan.dump(sources.NGINX_DUMP, ours)
    assert item["rc"] == 0, item["stderr"]
    assert item["argv"][:3] == [own_nginx["binary"], "-c", own_nginx["conf"]]
    assert item["argv"][-1] == "-T"
    files = [line for line in item["stdout"].splitlines()
             if line.startswith("# configuration file ")]
    assert f"# configuration file {own_nginx['conf']}:" in files
    assert MARKER in item["stdout"]
    assert not any("/etc/nginx/" in f for f in files)
    assert item["data"]["master"]["pid"] == own_nginx["pid"]
    assert item["data"]["master"]["conf"] == own_nginx["conf"]
    # nginx.test comes from the same run and says which master it tested.
    test = _nginx_test_of(item)
    assert test["rc"] == 0
    assert test["data"]["master"]["conf"] == own_nginx["conf"]
    # What the agent then scans is that server: its listen address and name.
    scanned = nginxscan.scan(item["stdout"])
    assert [s["server_name"] for s in scanned["servers"]] == [[MARKER]]
    assert scanned["servers"][0]["listen"] == [f"127.0.0.1:{own_nginx['port']}"]


def test_without_a_master_the_default_configuration_is_read() -> None:
    if not NGINX.exists() or not Path("/etc/nginx/nginx.conf").exists():
        pytest.skip("Debian's nginx and /etc/nginx/nginx.conf are not installed")
    item = nginxscan.dump(sources.NGINX_DUMP, [])
    assert item["data"]["master"] is None
    assert "# configuration file /etc/nginx/nginx.conf:" in (item["stdout"] or "")
    assert MARKER not in (item["stdout"] or "")
