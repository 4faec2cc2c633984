"""A real stack in namespaces of its own: nginx → uvicorn run by pm2, by supervisord or by
hand, in the state a scenario asks for; then the real agent gathers the evidence.

Run as `unshare --pid --fork --mount-proc --net python managed_stack.py SCENARIO DIR OUT`
(tests/unit/test_managers.py does): a private process table, so the agent sees this stack
and nothing else of the host; when this script (PID 1 there) exits, the kernel ends every
process left in it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

APP = '''async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok\\n"})
'''
PORT = 8000
NGINX_PORT = 8080
BIN = Path(sys.executable).parent


def _wait(test: object, what: str, timeout: float = 90.0, log: Path | None = None) -> None:
    """Wait for test() (generous: the host may be busy with other suites)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if test():  # type: ignore[operator]
            return
        time.sleep(0.1)
    said = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
    raise RuntimeError(f"timed out waiting for {what}\n{said}")


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _nginx(base: Path) -> None:
    temps = "".join(f"    {k}_temp_path {base}/{k};\n"
                    for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = base / "nginx.conf"
    conf.write_text(
        f"worker_processes 1;\nerror_log {base}/error.log;\nevents {{ worker_connections 64; }}\n"
        f"http {{\n    access_log {base}/access.log;\n{temps}"
        f"    server {{\n        listen 127.0.0.1:{NGINX_PORT};\n        root {base}/app;\n"
        f"        location / {{ proxy_pass http://127.0.0.1:{PORT}; }}\n    }}\n}}\n")
    subprocess.run(["/usr/sbin/nginx", "-c", str(conf), "-g", f"daemon on; pid {base}/nginx.pid;"],
                   check=True, timeout=20)


# pm2-user: the daemon runs as nobody, from a folder nobody may enter (a tmpfs on /srv, in
# this mount namespace only: pytest's own folders are root's alone).
USER_BASE = Path("/srv/gd")


def _pm2(base: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if base == USER_BASE:
        argv = ["runuser", "-u", "nobody", "--", "env", f"PM2_HOME={base / 'pm2'}",
                f"HOME={base}", "pm2", *args]
    else:
        argv = ["pm2", *args]
    env = {**os.environ, "PM2_HOME": str(base / "pm2")}
    return subprocess.run(argv, cwd=base / "app", env=env, capture_output=True,
                          text=True, timeout=60, check=True)


def _pm2_status(base: Path) -> str | None:
    apps = json.loads(_pm2(base, "jlist").stdout)
    return apps[0]["pm2_env"]["status"] if apps else None


def _through_nginx() -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{NGINX_PORT}/", timeout=5) as r:
        return int(r.status)


SECRET = "gd-planted-s3cret-value"


def _by_hand(base: Path, target: str) -> subprocess.Popen[bytes]:
    """`nohup uvicorn ... > nohup.out 2>&1 &` from a shell: a new session, output to a file,
    the shell's environment (with a planted secret the evidence must not hold)."""
    out = open(base / "app" / "nohup.out", "ab")  # noqa: SIM115 (the server keeps it)
    return subprocess.Popen([str(BIN / "uvicorn"), target, "--port", str(PORT)],
                            cwd=base / "app", stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "GD_API_TOKEN": SECRET})


def _supervisord(base: Path, target: str) -> None:
    conf = base / "supervisord.conf"
    conf.write_text(
        f"[supervisord]\nlogfile={base}/supervisord.log\npidfile={base}/supervisord.pid\n"
        f"childlogdir={base}\n[unix_http_server]\nfile={base}/supervisor.sock\n"
        "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = "
        "supervisor.rpcinterface:make_main_rpcinterface\n"
        f"[supervisorctl]\nserverurl=unix://{base}/supervisor.sock\n"
        f"[program:api]\ncommand={BIN}/uvicorn {target} --port {PORT}\n"
        # startsecs=10: an exit within 10 s is a failed start, however slow a busy host is.
        f"directory={base}/app\nstartretries=2\nstartsecs=10\n"
        f"stderr_logfile={base}/api.err.log\nstdout_logfile={base}/api.out.log\n")
    subprocess.run([shutil.which("supervisord") or "supervisord", "-c", str(conf)], check=True,
                   timeout=20)


def _state(base: Path, scenario: str) -> None:
    """Put the stack in the scenario's state, for real, and check it is there."""
    if scenario.startswith("pm2"):
        target = "missing_module:app" if scenario == "pm2-errored" else "main:app"
        # An ecosystem file, as deployments write one. min_uptime: an exit within 10 s is
        # unstable however slowly a busy host imports uvicorn (pm2 gives up after
        # max_restarts unstable ones). pm2-node: no interpreter, as people forget it; pm2
        # then runs uvicorn with Node.
        app = {"name": "api", "script": str(BIN / "uvicorn"), "cwd": str(base / "app"),
               "args": [target, "--port", str(PORT)], "max_restarts": 3, "min_uptime": 10000}
        if scenario != "pm2-node":
            app["interpreter"] = "none"
        (base / "app" / "ecosystem.json").write_text(json.dumps({"apps": [app]}))
        _pm2(base, "start", str(base / "app" / "ecosystem.json"))
        if scenario in ("pm2-errored", "pm2-node"):
            _wait(lambda: _pm2_status(base) == "errored", "pm2 to give up on the app",
                  log=base / "pm2" / "pm2.log")
            return
        _wait(lambda: _listening(PORT), "uvicorn under pm2")
        assert _through_nginx() == 200
        if scenario == "pm2-stopped":
            _pm2(base, "stop", "api")
    elif scenario == "hand-script":
        # `nohup python run.py &`: a script that starts the server itself (uvicorn.run).
        (base / "app" / "run.py").write_text(
            f"import uvicorn\nuvicorn.run('main:app', host='127.0.0.1', port={PORT})\n")
        out = open(base / "app" / "nohup.out", "ab")  # noqa: SIM115 (the server keeps it)
        subprocess.Popen([sys.executable, "run.py"], cwd=base / "app", stdout=out,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True)
        _wait(lambda: _listening(PORT), "the hand-started script")
        assert _through_nginx() == 200
    elif scenario.startswith("hand"):
        if scenario == "hand-db-down":
            # The app's .env (read by the app itself) names a PostgreSQL nothing serves.
            (base / "app" / ".env").write_text(
                f"DATABASE_URL=postgresql://api:{SECRET}@127.0.0.1:5999/api\n")
        proc = _by_hand(base, "main:app")
        _wait(lambda: _listening(PORT), "the hand-started uvicorn")
        assert _through_nginx() == 200
        if scenario in ("hand-killed", "hand-died"):
            proc.kill()
            proc.wait(timeout=10)
        if scenario == "hand-died":
            # Started again by hand after a package went missing: it dies at import, its
            # traceback in nohup.out, in the site's folder (nginx's root, as a panel lays out).
            (base / "app" / "main.py").write_text("import gd_missing_package\n" + APP)
            again = _by_hand(base, "main:app")
            again.wait(timeout=30)
    elif scenario == "supervisor-fatal":
        _supervisord(base, "missing_module:app")
        _wait(lambda: "entered FATAL state" in (base / "supervisord.log").read_text(),
              "supervisord to give up on the program", log=base / "supervisord.log")
    else:
        raise SystemExit(f"unknown scenario {scenario}")


def _user_base() -> Path:
    """A folder nobody owns, for pm2-user."""
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", "/srv"], check=True,
                   timeout=10)
    (USER_BASE / "app").mkdir(parents=True)
    (USER_BASE / "app" / "main.py").write_text(APP)
    shutil.chown(USER_BASE, "nobody")
    return USER_BASE


def main(scenario: str, base: Path, out: Path) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
    (base / "app").mkdir(parents=True)
    (base / "app" / "main.py").write_text(APP)
    _nginx(base)
    where = _user_base() if scenario == "pm2-user" else base
    try:
        if scenario == "pm2-user":
            # Not uvicorn: the test venv's interpreter may sit in root's home (pyenv), which
            # nobody cannot enter; what is pinned is how the agent reads another user's pm2.
            _pm2(where, "start", "/bin/sleep", "--name", "idle", "--interpreter", "none",
                 "--", "600")
            _wait(lambda: _pm2_status(where) == "online", "sleep under nobody's pm2")
        else:
            _state(where, scenario)
        from gatewaydoctor.agent.gather import gather

        evidence = gather()
        # What the agent left in the daemon's PM2_HOME that its owner does not own.
        evidence["test_foreign_files"] = [
            str(p) for p in (where / "pm2").rglob("*")
            if where == USER_BASE and p.lstat().st_uid != 65534] if (where / "pm2").exists() \
            else []
        out.write_text(json.dumps(evidence), encoding="utf-8")
    finally:
        if (where / "pm2").exists():
            _pm2(where, "kill")
        pid = base / "nginx.pid"
        if pid.exists():
            os.kill(int(pid.read_text()), signal.SIGTERM)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
