"""Backends run by pm2 and by hand, for real: a pm2 daemon with a private PM2_HOME, a
hand-started uvicorn writing to nohup.out, supervisord for comparison, each behind a real
nginx, in namespaces of their own (tests/unit/managed_stack.py); the real agent gathers
and the real rules diagnose."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gatewaydoctor.agent import handstarted, pm2, procfs
from gatewaydoctor.diagnose import Diagnosis, diagnose
from gatewaydoctor.evidence import load
from gatewaydoctor.facts import Facts
from gatewaydoctor.formats import execspec
from gatewaydoctor.parse import build_facts
from gatewaydoctor.parse import handstarted as parse_handstarted
from gatewaydoctor.parse import pm2 as parse_pm2
from gatewaydoctor.rules import all_rules, run_rules

HERE = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
NEEDS = ("unshare", "pm2", "ip", "supervisord")


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root (namespaces)"
    absent = [t for t in NEEDS if shutil.which(t) is None]
    if not Path("/usr/sbin/nginx").exists():
        absent.append("nginx")
    if not (Path(sys.executable).parent / "uvicorn").exists():
        absent.append("uvicorn in the test venv")
    return f"missing: {', '.join(absent)} (scripts/test installs them)" if absent else None


_RUNS: dict[str, tuple[dict[str, Any], Facts, Diagnosis]] = {}


def _stack(scenario: str, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[dict[str, Any], Facts, Diagnosis]:
    """The evidence the agent gathered on the scenario's stack, its facts and diagnosis."""
    why = _missing()
    if why and IN_CI:
        pytest.fail(f"pm2, nginx and namespaces are needed in CI: {why}")
    if why:
        pytest.skip(why)
    if scenario not in _RUNS:
        base = tmp_path_factory.mktemp(scenario)
        out = base / "evidence.json"
        proc = subprocess.run(
            ["unshare", "--pid", "--fork", "--mount-proc", "--net", sys.executable,
             str(HERE / "managed_stack.py"), scenario, str(base / "stack"), str(out)],
            capture_output=True, text=True, timeout=240, check=False)
        assert proc.returncode == 0, proc.stderr[-3000:]
        facts = build_facts(load(str(out)))
        _RUNS[scenario] = (json.loads(out.read_text()), facts,
                           diagnose(facts, run_rules(facts, all_rules())))
    return _RUNS[scenario]


def _categories(d: Diagnosis) -> list[tuple[str, str]]:
    return sorted((f.category, f.role) for f in d.findings)


def test_pm2_uvicorn_is_a_healthy_service(tmp_path_factory: pytest.TempPathFactory) -> None:
    ev, facts, d = _stack("pm2-online", tmp_path_factory)
    (daemon,) = ev["items"]["pm2.daemons"]["data"]["daemons"]
    assert daemon["home"].endswith("/stack/pm2") and daemon["user"] == "root"
    listed = ev["items"][f"pm2.list:{daemon['home']}"]
    assert listed["error"] is None and listed["argv"][-1] == "jlist"
    # pm2 jlist prints every app's whole environment: none of its values is kept.
    assert listed["stdout"] is None and "PATH" in listed["data"]["apps"][0]["environment_keys"]
    assert os.environ["PATH"] not in json.dumps(listed)
    service = facts.unit("pm2:api")
    assert service is not None and service.manager == "pm2" and service.state == "active/running"
    assert service.server == "uvicorn" and service.binds[0].port == 8000
    assert service.restart_command == f"PM2_HOME={daemon['home']} pm2 restart api"
    assert service.logs_command() == f"PM2_HOME={daemon['home']} pm2 logs api --lines 50 --nostream"
    assert any(p.unit == "pm2:api" for p in facts.import_probes or ())
    assert d.verdict == "healthy" and not d.findings, [f.title for f in d.findings]
    # The chain names the link: listener → the pm2 app's process → pm2:api.
    hops = [(h.layer, h.name) for c in d.chains for h in c.hops]
    assert ("unit", "pm2:api") in hops
    pid = next(int(n) for layer, n in hops if layer == "process")
    assert pid == service.main_pid


def test_errored_pm2_app_is_diagnosed_like_a_fatal_supervisor_program(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    _ev, facts, d = _stack("pm2-errored", tmp_path_factory)
    _sev, _sfacts, sup = _stack("supervisor-fatal", tmp_path_factory)
    service = facts.unit("pm2:api")
    assert service is not None and service.state == "failed/failed"
    # The same causes and symptoms as supervisord's FATAL program of the same crash.
    assert _categories(d) == _categories(sup)
    assert d.causes[0].category == sup.causes[0].category == "app.wrong_target"
    down = next(f for f in d.findings if f.symbol == "pm2-app-down")
    assert down.role == "symptom" and down.title == "pm2 app api is errored"
    texts = [e.text for e in down.evidence]
    assert any("had too many unstable restarts" in t for t in texts)  # pm2.log
    assert any('Could not import module "missing_module"' in t for t in texts)  # its error log
    assert any(c.endswith("pm2 restart api") for c in down.fix.commands)


def test_python_server_pm2_runs_with_node_is_the_cause(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """`pm2 start uvicorn -- main:app` without --interpreter: pm2 runs uvicorn with Node."""
    _ev, facts, d = _stack("pm2-node", tmp_path_factory)
    service = facts.unit("pm2:api")
    assert service is not None and service.server == "uvicorn"
    assert service.exec_start[0][0].endswith("node")  # what pm2 really runs
    top = d.causes[0]
    assert (top.symbol, top.role) == ("pm2-app-down", "cause")
    assert "pm2 runs the Python program" in top.title
    assert any("SyntaxError" in e.text for e in top.evidence)  # Node's, in the error log
    uvicorn = Path(sys.executable).parent / "uvicorn"
    assert any(c.endswith(f"pm2 start {uvicorn} --name api --interpreter none -- main:app "
                          "--port 8000") for c in top.fix.commands)
    # The app itself imports: no app.* cause is claimed.
    assert not any(f.category.startswith("app.") for f in d.findings)


def test_stopped_pm2_app_is_the_cause(tmp_path_factory: pytest.TempPathFactory) -> None:
    _ev, facts, d = _stack("pm2-stopped", tmp_path_factory)
    assert d.verdict == "broken"
    top = d.causes[0]
    assert (top.symbol, top.role, top.title) == ("pm2-app-down", "cause", "pm2 app api is stopped")
    assert any(c.endswith("pm2 start api") for c in top.fix.commands)


def test_another_users_pm2_is_read_as_that_user(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """A daemon run by nobody: jlist runs as nobody, with its PM2_HOME, and leaves nothing
    of another owner in it; its commands say whose pm2 to ask."""
    ev, facts, _d = _stack("pm2-user", tmp_path_factory)
    (daemon,) = ev["items"]["pm2.daemons"]["data"]["daemons"]
    assert (daemon["user"], daemon["home"]) == ("nobody", "/srv/gd/pm2")
    listed = ev["items"]["pm2.list:/srv/gd/pm2"]
    assert listed["error"] is None, listed["stderr"]
    assert [(a["name"], a["status"], a["user"]) for a in listed["data"]["apps"]] == [
        ("idle", "online", "nobody")]
    assert ev["test_foreign_files"] == []
    assert facts.pm2 is not None and facts.unit("pm2:idle") is None  # sleep serves nothing
    assert parse_pm2.control("/srv/gd/pm2", "nobody") == "sudo -u nobody env PM2_HOME=/srv/gd/pm2 "
    # named always for another user: whether sudo keeps root's HOME is its configuration's
    assert parse_pm2.control("/home/app/.pm2", "app") == "sudo -u app env PM2_HOME=/home/app/.pm2 "
    assert parse_pm2.control("/root/.pm2", "root") == ""


def test_hand_started_uvicorn_is_a_healthy_service(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    ev, facts, d = _stack("hand", tmp_path_factory)
    (proc,) = ev["items"]["hand.processes"]["data"]["processes"]
    assert proc["stdout"].endswith("/app/nohup.out") and proc["stderr"] == proc["stdout"]
    service = facts.unit(f"process:{proc['pid']}")
    assert service is not None and service.manager == "process"
    assert service.state == "active/running" and service.working_directory == proc["cwd"]
    assert [b.port for b in service.binds] == [8000]  # the socket it holds
    # Its output file is its log, and what starts it again is its own command, in its folder.
    assert any("Uvicorn running on" in e.message for e in facts.journal_of(service.name))
    assert service.logs_command() == f"tail -n 50 {proc['stdout']}"
    assert service.start_by_hand == (f"cd {proc['cwd']} && nohup {Path(sys.executable).parent}"
                                     f"/uvicorn main:app --port 8000 >>{proc['stdout']} 2>&1 &")
    assert "nohup" in service.state_excerpt.text or "parent has exited" in \
        service.state_excerpt.text
    assert d.verdict == "healthy" and not d.findings, [f.title for f in d.findings]
    # Probed like a unit, with the environment it runs with: its names kept, no value.
    assert any(p.unit == service.name and p.ok for p in facts.import_probes or ())
    assert "GD_API_TOKEN" in proc["environment_keys"]
    assert "gd-planted-s3cret-value" not in json.dumps(ev)
    hops = [(h.layer, h.name) for c in d.chains for h in c.hops]
    assert ("unit", service.name) in hops and ("process", str(proc["pid"])) in hops
    # The chain cites the link from the process to (no) manager: its cgroup and parents.
    unit_hop = next(h for c in d.chains for h in c.hops if h.layer == "unit")
    assert unit_hop.evidence[0].source == f"/proc/{proc['pid']}"
    assert "cgroup / (no service's)" in unit_hop.evidence[0].text


def test_hand_started_python_script_that_serves_is_a_service(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """`nohup python run.py &`, run.py calling uvicorn.run(): its command names no server,
    the listening socket it holds says it serves."""
    ev, facts, d = _stack("hand-script", tmp_path_factory)
    (proc,) = ev["items"]["hand.processes"]["data"]["processes"]
    assert proc["argv"][-1] == "run.py"
    service = facts.unit(f"process:{proc['pid']}")
    assert service is not None and service.is_web_app and service.server == "python"
    assert [b.port for b in service.binds] == [8000]
    assert d.verdict == "healthy" and not d.findings, [f.title for f in d.findings]


def test_hand_started_servers_database_is_checked_from_its_env(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """The app reads its .env itself (a panel's way): the database it names is checked for the
    hand-started server as for a unit's, and no secret reaches the evidence."""
    ev, _facts, d = _stack("hand-db-down", tmp_path_factory)
    (proc,) = ev["items"]["hand.processes"]["data"]["processes"]
    top = d.causes[0]
    assert (top.category, top.links[0].value) == ("database.unreachable",
                                                  f"process:{proc['pid']}")
    assert "gd-planted-s3cret-value" not in json.dumps(ev)


def test_hand_started_server_killed_is_unmanaged_server_gone(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    ev, _facts, d = _stack("hand-killed", tmp_path_factory)
    assert "hand.processes" not in ev["items"]
    top = d.causes[0]
    assert top.symbol == "unmanaged-server-gone" and top.category == "service.not_running"
    assert any("answered: a server outside any unit" in e.text for e in top.evidence)


def test_hand_started_server_that_died_at_import_is_told_from_its_nohup_out(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """Started again by hand after a package went missing, it died at import: with no server
    running, the nohup.out in the server block's root (a panel's site folder) is read."""
    ev, facts, d = _stack("hand-died", tmp_path_factory)
    nohup = next(k for k in ev["items"] if k.startswith("hand.nohup:")).partition(":")[2]
    assert nohup.endswith("/app/nohup.out")
    # The server that wrote it is a service, gone: what it died of is told like a unit's.
    gone = facts.unit(f"process:{os.path.dirname(nohup)}")
    assert gone is not None and gone.state == "inactive/dead" and gone.output == nohup
    top = d.causes[0]
    assert (top.symbol, top.category) == ("missing-dependency", "app.missing_dependency")
    assert any(e.source == f"{nohup}:45" or e.source.startswith(f"{nohup}:") for e in
               top.evidence)
    # It starts again from its folder, its output where it went; its command is not known.
    assert any(c.startswith(f"cd {os.path.dirname(nohup)} && nohup <the command it was "
                            "started with>") for c in top.fix.commands)
    gone_by_hand = next(f for f in d.findings if f.symbol == "unmanaged-server-gone")
    assert gone_by_hand.role == "symptom"
    texts = [e.text for e in gone_by_hand.evidence]
    assert "nohup.out: a server was started by hand with nohup" in texts
    assert "ModuleNotFoundError: No module named 'gd_missing_package'" in texts
    assert any(c.startswith(f"tail -n 50 {nohup}") for c in gone_by_hand.fix.commands)


# What the agent reads from a process table, without namespaces.

def _proc(pid: int, ppid: int, argv: list[str], cgroup: str = "/") -> dict[str, Any]:
    return {"pid": pid, "ppid": ppid, "cmdline": argv, "cgroup": cgroup, "uid": 0,
            "comm": os.path.basename(argv[0])[:15], "cwd": "/srv/app", "exe": None}


def test_daemon_title_is_pm2s() -> None:
    procs = [_proc(10, 1, ["PM2 v5.3.0: God Daemon (/home/u/.pm2)"]),
             _proc(11, 1, ["node", "/usr/bin/pm2", "logs"])]
    (d,) = pm2.daemons(procs)
    assert (d["pid"], d["home"], d["version"]) == (10, "/home/u/.pm2", "5.3.0")


def test_only_servers_no_manager_runs_are_hand_started() -> None:
    venv = "/srv/venv/bin"
    procs = [
        _proc(2, 1, ["sshd: u@pts/0"], "/user.slice/user-0.slice/session-3.scope"),
        _proc(3, 2, ["-bash"], "/user.slice/user-0.slice/session-3.scope"),
        # by hand, in a session; its worker is not another server
        _proc(4, 3, [f"{venv}/python3", f"{venv}/gunicorn", "-b", ":9000", "app:app"],
              "/user.slice/user-0.slice/session-3.scope"),
        _proc(5, 4, [f"{venv}/python3", f"{venv}/gunicorn", "-b", ":9000", "app:app"],
              "/user.slice/user-0.slice/session-3.scope"),
        # in tmux's scope under the user's own manager: still by hand
        _proc(6, 1, [f"{venv}/uvicorn", "a:app"],
              "/user.slice/user-0.slice/user@0.service/tmux-spawn-1.scope"),
        # a systemd unit's, supervisord's program and pm2's app are not
        _proc(7, 1, [f"{venv}/python", "-m", "uvicorn", "b:app"], "/system.slice/api.service"),
        _proc(8, 1, ["/usr/bin/python3", "/usr/bin/supervisord", "-n"]),
        _proc(9, 8, [f"{venv}/uvicorn", "c:app"]),
        _proc(10, 1, ["PM2 v5.3.0: God Daemon (/root/.pm2)"]),
        _proc(11, 10, [f"{venv}/python3", f"{venv}/uvicorn", "d:app"]),
        # in a container: its runtime runs it
        _proc(12, 1, ["/usr/local/bin/uvicorn", "e:app"],
              "/system.slice/docker-0a1b2c3d4e5f6a7b.scope"),
        _proc(13, 1, ["gunicorn", "f:app"], "/kubepods.slice/kubepods-pod1.slice/cri-x.scope"),
    ]
    found = handstarted.find(procs, {10})
    assert [p["pid"] for p in found] == [4, 6]
    assert found[0]["parents"][0]["comm"] == "-bash"


@pytest.mark.parametrize(("argv", "want"), [
    (["/v/bin/python3", "/v/bin/uvicorn", "main:app"], ["/v/bin/uvicorn", "main:app"]),
    (["/bin/bash", "-c", "gunicorn -b :9 app:app"], ["gunicorn", "-b", ":9", "app:app"]),
    (["python", "-m", "uvicorn", "x:app"], ["python", "-m", "uvicorn", "x:app"]),
    (["python", "app.py"], ["python", "app.py"]),
])
def test_process_argv(argv: list[str], want: list[str]) -> None:
    assert execspec.process_argv(argv) == want


def test_pm2_command_of_an_app() -> None:
    base = {"pm_exec_path": "/srv/app/run.py", "args": ["--port", "9"]}
    assert pm2.command({**base, "exec_interpreter": "/v/bin/python3"}) == [
        "/v/bin/python3", "/srv/app/run.py", "--port", "9"]
    assert pm2.command({"pm_exec_path": "/usr/bin/bash", "exec_interpreter": "none",
                        "args": ["-c", "/v/bin/uvicorn main:app"]}) == [
        "/v/bin/uvicorn", "main:app"]


def test_without_pm2_on_path_the_list_says_why(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    daemon = {"pid": 1, "home": str(tmp_path), "uid": os.geteuid(), "user": "x",
              "exe": str(tmp_path / "node")}
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(pm2, "PM2_DIRS", ())
    item, programs = pm2.app_list(daemon)
    assert item["source"] == f"pm2.list:{tmp_path}"
    assert item["error_kind"] == "missing" and "pm2 is not on PATH" in item["error"]
    assert programs == []
    # With what `pm2 save` wrote, the apps are read from it (their state from the pid files).
    (tmp_path / "dump.pm2").write_text(json.dumps([{
        "name": "api", "pm_exec_path": "/v/bin/uvicorn", "args": ["main:app"],
        "exec_interpreter": "none", "pm_cwd": "/srv/app", "status": "online",
        "pm_pid_path": str(tmp_path / "api-0.pid"), "env": {"SECRET_KEY": "s3cr3t-value"}}]))
    (tmp_path / "api-0.pid").write_text(str(os.getpid()))
    item, programs = pm2.app_list(daemon)
    assert item["source"] == f"pm2.dump:{tmp_path}" and "pm2 is not on PATH" in \
        item["data"]["list_error"]
    assert item["data"]["apps"][0]["status"] == "online"
    assert "s3cr3t-value" not in json.dumps(item)
    assert [name for name, _props in programs] == ["api"]
    assert "SECRET_KEY=s3cr3t-value" in programs[0][1]["Environment"]


@pytest.mark.parametrize(("target", "kind"), [
    ("/srv/app/nohup.out", "a file"), ("/dev/pts/3", "a terminal"), ("pipe:[123]", "a pipe"),
    ("socket:[9]", "a pipe or socket"), ("/dev/null", "discarded"),
    ("/srv/app/nohup.out (deleted)", "a deleted file"), (None, "not readable")])
def test_where_a_hand_started_servers_output_goes(target: str | None, kind: str) -> None:
    assert parse_handstarted.output_kind(target).startswith(kind)
    # Only a file is read as its log.
    found = handstarted.log_paths([{"pid": 7, "stdout": target, "stderr": target}])
    assert [p for _s, p in found] == ([target] if kind == "a file" else [])


def test_a_server_in_another_network_namespace_is_not_this_hosts(tmp_path: Path) -> None:
    """`ip netns exec`/a container's server: its addresses are not this host's to proxy to."""
    if _missing():
        pytest.skip(str(_missing()))
    (tmp_path / "main.py").write_text("async def app(scope, receive, send):\n    pass\n")
    proc = subprocess.Popen(["unshare", "--net", str(Path(sys.executable).parent / "uvicorn"),
                             "main:app", "--port", "8000"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def listed() -> list[dict[str, Any]]:
            return [p for p in procfs.processes()["data"]["processes"] if p["pid"] == proc.pid
                    and any(a.endswith("uvicorn") for a in p["cmdline"])]
        deadline = time.monotonic() + 20
        while not listed() and time.monotonic() < deadline:
            time.sleep(0.05)
        (server,) = listed()  # unshare exec'd uvicorn: the same pid, another netns
        assert os.readlink(f"/proc/{proc.pid}/ns/net") != os.readlink("/proc/self/ns/net")
        found = handstarted.find(procfs.processes()["data"]["processes"], set())
        assert server["pid"] not in [p["pid"] for p in found]
    finally:
        proc.kill()
        proc.wait(timeout=10)


GONE_HOME = r'''
import json, os, shutil, subprocess, sys, time
home = sys.argv[1]
env = {**os.environ, "PM2_HOME": home}
subprocess.run(["pm2", "ping"], env=env, capture_output=True, timeout=60, check=True)
deadline = time.monotonic() + 30
while not os.path.exists(os.path.join(home, "rpc.sock")) and time.monotonic() < deadline:
    time.sleep(0.1)
shutil.rmtree(home)  # as a temporary PM2_HOME is, while its daemon lives on
from gatewaydoctor.agent import pm2, procfs
def titles():
    return [p["pid"] for p in procfs.processes()["data"]["processes"]
            if " ".join(p["cmdline"]).startswith("PM2 ")]
before = titles()
(daemon,) = pm2.daemons(procfs.processes()["data"]["processes"])
item, _apps = pm2.app_list(daemon)
time.sleep(2)  # a daemon the client would have started takes a moment to appear
print(json.dumps({"before": before, "after": titles(), "error": item["error"],
                  "home_made_again": os.path.exists(home)}))
'''


def test_a_daemon_whose_home_is_gone_is_not_asked(tmp_path: Path) -> None:
    """pm2's client starts a daemon where it finds none: a daemon whose PM2_HOME (and so
    its socket) is gone is not asked, or every diagnosis would leave one more behind."""
    why = _missing()
    if why and IN_CI:
        pytest.fail(f"pm2 and namespaces are needed in CI: {why}")
    if why:
        pytest.skip(why)
    proc = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c",
                           GONE_HOME, str(tmp_path / "pm2")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["after"] == seen["before"] and len(seen["before"]) == 1
    assert "socket" in seen["error"] and not seen["home_made_again"]
