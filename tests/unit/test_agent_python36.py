"""The agent on the oldest python3 it meets: 3.6 (CentOS 7, RHEL 8), and 3.7.

Only what a remote host gets is copied (gatewaydoctor/__init__.py, formats/, agent/) and
run with that interpreter, isolated (-I -S), on a real stack in namespaces of its own
(tests/unit/oldpython_stack.py: nginx → uvicorn started by hand, a pm2 daemon run by
nobody). The same copy gathers with this test's own interpreter on the same stack, and
the two evidence files must say the same: the same items with the same fields and
errors, the same listeners, processes, nginx configuration, hand-started service, import
probe and pm2 apps. A 3.7+ construct in the agent fails here: at import (every module is
imported; annotations are evaluated on 3.6) or in the gather (an error the newer
interpreter has not, or a crash).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gatewaydoctor.diagnose import diagnose
from gatewaydoctor.evidence import load
from gatewaydoctor.parse import build_facts
from gatewaydoctor.rules import all_rules, run_rules

HERE = Path(__file__).resolve().parent
PKG = HERE.parents[1] / "src" / "gatewaydoctor"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
OLD = ("3.6", "3.7")
# Must be there in CI (3.7 is checked when there, so 3.6 is the promise).
REQUIRED = "3.6"
NEEDS = ("unshare", "ip", "pm2")


def find_python(version: str) -> str | None:
    """An interpreter of that version: `pythonX.Y` on PATH (a pyenv shim there may refuse
    to run), else pyenv's own copies. Only one that runs and says that version counts."""
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv"), "/root/.pyenv"]
    candidates = [shutil.which(f"python{version}")] + [
        p for root in dict.fromkeys(r for r in roots if r)
        for p in sorted(glob.glob(f"{root}/versions/{version}.*/bin/python"))]
    for python in filter(None, candidates):
        try:
            said = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2])"],
                                  capture_output=True, text=True, timeout=30, check=False)
        except OSError:
            continue
        if said.returncode == 0 and said.stdout.strip() == str(tuple(map(int,
                                                                         version.split(".")))):
            return python
    return None


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root (namespaces)"
    absent = [t for t in NEEDS if shutil.which(t) is None]
    if not Path("/usr/sbin/nginx").exists():
        absent.append("nginx")
    if not (Path(sys.executable).parent / "uvicorn").exists():
        absent.append("uvicorn in the test venv")
    return f"missing: {', '.join(absent)} (scripts/test installs them)" if absent else None


def _ship(to: Path) -> Path:
    """The three pieces, as a remote host gets them."""
    ship = to / "gatewaydoctor"
    ship.mkdir(parents=True)
    shutil.copy(PKG / "__init__.py", ship)
    for part in ("formats", "agent"):
        shutil.copytree(PKG / part, ship / part, ignore=shutil.ignore_patterns("__pycache__"))
    return to


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """One stack; the agent gathers on it with this interpreter, then each old one found."""
    why = _missing()
    if why and IN_CI:
        pytest.fail(f"nginx, pm2 and namespaces are needed in CI: {why}")
    if why:
        pytest.skip(why)
    found = {v: find_python(v) for v in OLD}
    pythons = {"main": sys.executable, **{v: p for v, p in found.items() if p}}
    base = tmp_path_factory.mktemp("oldpython")
    ship = _ship(base / "ship")
    (base / "out").mkdir()
    proc = subprocess.run(
        ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--net", "--mount",
         sys.executable, str(HERE / "oldpython_stack.py"), str(base / "stack"), str(ship),
         str(base / "out"), *pythons.values()],
        capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return {name: json.loads((base / "out" / f"{n}.json").read_text())
            for n, name in enumerate(pythons)}


@pytest.fixture(params=OLD)
def old(request: pytest.FixtureRequest, runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    version = request.param
    if version not in runs:
        if version == REQUIRED and IN_CI:
            pytest.fail(f"no python{version} here (PATH or ~/.pyenv/versions/{version}.*)")
        pytest.skip(f"no python{version} on PATH or in ~/.pyenv/versions")
    assert "failed" not in runs[version], f"python{version}: {runs[version]['failed'][-3000:]}"
    assert "failed" not in runs["main"], runs["main"]["failed"][-3000:]
    assert ".".join(map(str, runs[version]["python"][:2])) == version
    return runs[version]


def _items(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return run["evidence"]["items"]  # type: ignore[no-any-return]


def test_every_module_imports_there(runs: dict[str, dict[str, Any]],
                                    old: dict[str, Any]) -> None:
    """From the shipped copy (the gather script checks), every module of agent/ and
    formats/, with its annotations evaluated."""
    assert old["modules"] == runs["main"]["modules"]
    assert len(old["modules"]) == len(list(PKG.glob("agent/*.py"))) + len(
        list(PKG.glob("formats/*.py"))) - 2


def test_the_same_schema_items_and_errors(runs: dict[str, dict[str, Any]],
                                          old: dict[str, Any]) -> None:
    new_ev, old_ev = runs["main"]["evidence"], old["evidence"]
    assert old_ev.keys() == new_ev.keys() and old_ev["schema"] == new_ev["schema"]
    assert old_ev["options"] == new_ev["options"]
    assert old_ev["failures"] == new_ev["failures"]
    assert _items(old).keys() == _items(runs["main"]).keys()
    for source, item in _items(runs["main"]).items():
        was = _items(old)[source]
        assert was.keys() == item.keys(), source
        same = ("kind", "argv", "path", "rc", "error", "error_kind", "truncated")
        assert {k: was[k] for k in same} == {k: item[k] for k in same}, source
        if isinstance(item["data"], dict):
            assert was["data"].keys() == item["data"].keys(), source


def test_the_same_listeners(runs: dict[str, dict[str, Any]], old: dict[str, Any]) -> None:
    sockets = _items(old)["net.tcp_listen"]["data"]["sockets"]
    assert sockets == _items(runs["main"])["net.tcp_listen"]["data"]["sockets"]
    assert sorted(s["port"] for s in sockets) == [8000, 8080]


def _stack(run: dict[str, Any]) -> list[tuple[int, int, str, tuple[str, ...]]]:
    """The processes, less the gathering interpreter and what it started."""
    procs = _items(run)["proc.processes"]["data"]["processes"]
    ours = {run["self_pid"]}
    for p in sorted(procs, key=lambda p: p["pid"]):
        if p["ppid"] in ours:
            ours.add(p["pid"])
    return sorted((p["pid"], p["ppid"], p["comm"], tuple(p["cmdline"])) for p in procs
                  if p["pid"] not in ours)


def test_the_same_processes(runs: dict[str, dict[str, Any]], old: dict[str, Any]) -> None:
    stack = _stack(old)
    assert stack == _stack(runs["main"])
    names = [comm for _pid, _ppid, comm, _argv in stack]
    assert names.count("nginx") == 2 and "uvicorn" in names and "sleep" in names
    hand = _items(old)["hand.processes"]
    assert hand["data"] == _items(runs["main"])["hand.processes"]["data"]


def test_the_same_nginx_configuration(runs: dict[str, dict[str, Any]],
                                      old: dict[str, Any]) -> None:
    dump, want = _items(old)["nginx.dump"], _items(runs["main"])["nginx.dump"]
    assert dump["rc"] == 0 and "proxy_pass http://127.0.0.1:8000;" in dump["stdout"]
    assert (dump["stdout"], dump["data"]) == (want["stdout"], want["data"])
    assert _items(old)["nginx.test"]["data"] == _items(runs["main"])["nginx.test"]["data"]


def test_the_same_probes_of_the_app(runs: dict[str, dict[str, Any]],
                                    old: dict[str, Any]) -> None:
    """The import probe (the app's interpreter, run as the process's user: the account
    switch the agent does itself before 3.9) and the HTTP probes through nginx."""
    (source,) = [s for s in _items(old) if s.startswith("python.import:")]
    probe = _items(old)[source]
    assert probe["data"]["user"] == "root" and probe["data"]["result"]["ok"] is True
    assert probe["data"] == _items(runs["main"])[source]["data"]
    for path in ("probe.http:nginx:127.0.0.1:8080/", "probe.http:upstream:127.0.0.1:8000/"):
        assert _items(old)[path]["data"]["status"] == 200
        assert _items(runs["main"])[path]["data"]["status"] == 200


def test_the_same_pm2_apps_asked_as_their_owner(runs: dict[str, dict[str, Any]],
                                                old: dict[str, Any]) -> None:
    """The daemon is nobody's: the agent runs `pm2 jlist` as nobody (user and group
    switched before exec), and leaves nothing of root's in its home."""
    pm2, want = _items(old)["pm2.list:/srv/gd/pm2"], _items(runs["main"])["pm2.list:/srv/gd/pm2"]
    assert pm2["rc"] == 0 and pm2["data"]["daemon"]["user"] == "nobody"
    assert [(a["name"], a["status"]) for a in pm2["data"]["apps"]] == [("idle", "online")]
    assert pm2["data"] == want["data"]
    assert old["foreign_files"] == [] == runs["main"]["foreign_files"]


def _diagnosis(run: dict[str, Any], path: Path) -> tuple[Any, ...]:
    path.write_text(json.dumps(run["evidence"]), encoding="utf-8")
    facts = build_facts(load(str(path)))
    d = diagnose(facts, run_rules(facts, all_rules()))
    # (the log hop is named by the app's last line: the previous gather's probes wrote it)
    return (d.verdict, sorted(f.category for f in d.findings),
            [(h.layer, h.name if h.layer != "log" else "", h.status)
             for c in d.chains for h in c.hops])


def test_the_same_diagnosis(runs: dict[str, dict[str, Any]], old: dict[str, Any],
                            tmp_path: Path) -> None:
    """What gatewaydoctor concludes from either evidence: healthy, the same request path."""
    verdict, findings, hops = _diagnosis(old, tmp_path / "old.json")
    assert (verdict, findings, hops) == _diagnosis(runs["main"], tmp_path / "main.json")
    assert verdict == "healthy" and not findings
    assert [(layer, status) for layer, _name, status in hops] == [
        ("url", "ok"), ("server", "ok"), ("location", "ok"), ("upstream", "ok"),
        ("listener", "ok"), ("process", "ok"), ("unit", "ok"), ("log", "unknown")]

# A driver for the login: a coroutine that really connects (asyncio) to a port nothing
# listens on, as asyncpg.connect does first. asyncpg itself is not installed for 3.6 here.
ASYNC_DRIVER = '''import asyncio


async def connect(dsn):
    host, port = dsn.rsplit("@", 1)[1].split("/")[0].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.close()
'''


@pytest.mark.parametrize("version", OLD)
def test_the_app_probe_script_runs_on_it(tmp_path: Path, version: str) -> None:
    """The script the app probe runs in the app's own interpreter (a 3.6 app on CentOS 7):
    the database login through an asyncio driver (asyncio.run is 3.7+), then the import."""
    from gatewaydoctor.agent import appprobe, pyapp

    python = find_python(version)
    if python is None:
        if version == REQUIRED and IN_CI:
            pytest.fail(f"no python{version} here (PATH or ~/.pyenv/versions/{version}.*)")
        pytest.skip(f"no python{version} on PATH or in ~/.pyenv/versions")
    (tmp_path / "asyncpg.py").write_text(ASYNC_DRIVER)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("app = object()\n")
    payload = json.dumps([[str(tmp_path / "app")], "main", "app", pyapp.RESULT_MARK,
                          [["GD_DSN", ["asyncpg"], 3]], appprobe.DB_MARK])
    # As the agent runs it: `python -c`, in the app's folder (here the driver's: on sys.path).
    proc = subprocess.run([python, "-c", appprobe.SCRIPT, payload], cwd=tmp_path,
                          env={"GD_DSN": "postgresql://u@127.0.0.1:9/db"},
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    logins = json.loads(proc.stdout.split(appprobe.DB_MARK)[1].splitlines()[0])
    assert logins[0]["driver"] == "asyncpg" and logins[0]["ok"] is False
    assert logins[0]["error_type"] == "builtins.ConnectionRefusedError", logins
    result = json.loads(proc.stdout.split(pyapp.RESULT_MARK)[1].splitlines()[0])
    assert result["ok"] is True and result["python"].startswith(f"{version}.")
