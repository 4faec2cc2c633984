"""Several nginx masters on one host, each read with its own binary and -c, end to end.

Five real nginx masters run in a private network, pid and mount namespace (`unshare`; the
kernel ends whatever is left in it when its first process exits): the packaged binary
with its own -c on 80 and 18080; the same binary through a symlink named `openresty` on
18081; one through a symlink named `edge-gw` and one from a copy named `gwd` started as
`frontdoor`, both with `master_process off` (so their titles never say nginx: found by
the sockets they hold); and one whose configuration was broken after it started (its -T
fails). The real agent gathers for a URL on each port, and the real CLI diagnoses one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

NGINX = Path("/usr/sbin/nginx")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# name: (ports, how it is started)
MASTERS = {"alpha": (80, 18080), "beta": (18081,), "gamma": (18082,), "delta": (18083,),
           "broken": (18084,)}


def _unavailable() -> str | None:
    """Why this test cannot run here, or None."""
    if os.geteuid() != 0:
        return "not root: cannot make a network namespace"
    if not NGINX.exists():
        return f"{NGINX} missing"
    for tool in ("unshare", "ip", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} missing"
    probe = subprocess.run(["unshare", "--net", "--pid", "--fork", "--mount", "--mount-proc",
                            "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"unshare failed: {probe.stderr.strip()}"
    return None


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Start the masters and gather in one namespace (see _inside); what each run saw."""
    reason = _unavailable()
    if reason:
        if IN_CI:
            pytest.fail(f"real nginx in a namespace is needed in CI: {reason}")
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("masters")
    out = subprocess.run(
        ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc",
         sys.executable, __file__, str(work)],
        capture_output=True, text=True, timeout=400, check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")})
    assert out.returncode == 0, out.stderr[-4000:]
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _dumps(items: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in items.items() if k == "nginx.dump" or k.startswith("nginx.dump:")}


def _by_name(run: dict[str, Any], pids: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Each master's dump item, by the name the test gave it."""
    names = {pid: name for name, pid in pids.items()}
    return {names[int(v["data"]["master"]["pid"])]: v for v in _dumps(run["items"]).values()}


def test_every_master_is_found_with_its_binary_and_conf(runs: dict[str, Any]) -> None:
    pids, work = runs["pids"], Path(runs["work"])
    dumps = _by_name(runs["alpha"], pids)
    assert set(dumps) == set(MASTERS)
    for name, item in dumps.items():
        master = item["data"]["master"]
        assert master["conf"] == str(work / name / "nginx.conf")
        assert item["argv"][-1] == "-T"
        assert item["argv"][1:3] == ["-c", master["conf"]]
        assert sorted(int(a.rpartition(":")[2]) for a in master["ports"]) == sorted(
            MASTERS[name])
    assert dumps["alpha"]["argv"][0] == str(NGINX)
    assert dumps["beta"]["argv"][0] == str(work / "beta" / "bin" / "openresty")
    assert dumps["gamma"]["argv"][0] == str(work / "gamma" / "bin" / "edge-gw")
    # Started as `frontdoor` from a copy: the binary is what /proc/PID/exe points at.
    assert dumps["delta"]["argv"][0] == str(work / "delta" / "gwd")
    found_by = {name: item["data"]["master"]["found_by"] for name, item in dumps.items()}
    assert found_by == {"alpha": "title", "beta": "title", "gamma": "sockets",
                        "delta": "sockets", "broken": "title"}
    # Each dump is that master's own configuration, and only it.
    for name, item in dumps.items():
        if name == "broken":
            assert item["rc"] != 0 and "unknown directive" in item["stderr"]
            continue
        assert item["rc"] == 0, item["stderr"]
        assert f"server_name {name}.test;" in item["stdout"]
        assert not any(f"server_name {other}.test;" in item["stdout"]
                       for other in MASTERS if other != name)


@pytest.mark.parametrize(("run", "serving"), [
    ("alpha", "alpha"), ("beta", "beta"), ("gamma", "gamma"), ("delta", "delta"),
    ("no_url", "alpha"), ("broken", "broken")])
def test_the_master_on_the_urls_port_is_read_under_nginx_dump(
        runs: dict[str, Any], run: str, serving: str) -> None:
    got, pids = runs[run], runs["pids"]
    items = got["items"]
    assert items["nginx.dump"]["data"]["master"]["pid"] == pids[serving]
    want = 80 if run == "no_url" else MASTERS[serving][-1]
    assert items["nginx.dump"]["data"]["serving"] == f"listens on port {want}"
    others = {int(k.partition(":")[2]) for k in _dumps(items) if k != "nginx.dump"}
    assert others == {pid for name, pid in pids.items() if name != serving}
    # nginx -t is the serving master's; its processes are the runtime's.
    assert items["nginx.test"]["data"]["master"]["pid"] == pids[serving]
    if serving != "broken":
        listed = items["nginx.runtime"]["data"]["processes"]
        assert {p["pid"] for p in listed if p["role"] == "master"} == {pids[serving]}
        # Only this master's server blocks are probed.
        probed = [k for k in items if k.startswith("probe.http:nginx:")]
        assert probed and all(k.startswith(f"probe.http:nginx:{serving}.test") for k in probed)


@pytest.mark.parametrize("run", ["alpha", "beta", "gamma", "delta"])
def test_the_report_follows_the_serving_master_and_notes_the_others(
        runs: dict[str, Any], run: str) -> None:
    got, pids = runs[run], runs["pids"]
    report = got["report"]
    assert report["verdict"] == "healthy", report["causes"]
    hops = report["chain"][0]["hops"]
    server = next(h for h in hops if h["layer"] == "server")
    assert f"{run}.test" in server["name"], hops
    # The server hop says whose configuration it is.
    assert server["evidence"][0]["source"] == "nginx.dump"
    assert server["evidence"][0]["text"].startswith(f"nginx master pid {pids[run]}: ")
    assert f"-c {Path(runs['work']) / run / 'nginx.conf'}" in server["evidence"][0]["text"]
    notes = [n for n in report["notes"] if n.startswith("Another nginx master")]
    assert len(notes) == len(MASTERS) - 1
    for name, pid in pids.items():
        if name != run:
            note = next(n for n in notes if f"pid {pid}," in n)
            assert f"-c {Path(runs['work']) / name / 'nginx.conf'}" in note
            assert f":{MASTERS[name][-1]}" in note
            assert ("listening sockets" in note) == (name in ("gamma", "delta"))
            assert ("nginx -T fails" in note) == (name == "broken")
    serving = next(n for n in report["notes"] if "nginx masters run here" in n)
    assert serving.startswith(f"{len(MASTERS)} nginx masters run here; pid {pids[run]} (")
    assert f"listens on port {MASTERS[run][-1]}:" in serving
    assert not any(f"{run}.test" in n for n in notes)
    # The other master's broken configuration is not this request's.
    assert not any(c["category"] == "nginx.config_invalid" for c in report["findings"])


def test_on_a_port_no_master_listens_on_the_urls_name_chooses(runs: dict[str, Any]) -> None:
    got, pids = runs["by_name"], runs["pids"]
    data = got["items"]["nginx.dump"]["data"]
    assert data["master"]["pid"] == pids["gamma"]
    assert data["serving"] == "its configuration serves gamma.test"
    local = got["items"]["probe.http:nginx:gamma.test@127.0.0.1:18082/healthz"]["data"]
    assert local["status"] == 200 and local["body_head"] == "gamma"
    assert any("none was seen listening on port 443" in n for n in got["report"]["notes"])


def test_a_master_alone_whose_title_does_not_say_nginx_runs_nginx(
        runs: dict[str, Any]) -> None:
    got, pids = runs["alone"], runs["pids"]
    master = got["items"]["nginx.dump"]["data"]["master"]
    assert (master["pid"], master["found_by"]) == (pids["gamma"], "sockets")
    assert not any(k.startswith("nginx.dump:") for k in got["items"])
    report = got["report"]
    assert report["verdict"] == "healthy", report["causes"]
    assert not any("nginx master" in n for n in report["notes"])
    assert all(f["symbol"] != "nginx-not-running" for f in report["findings"])


def test_a_serving_master_whose_configuration_fails_is_diagnosed(runs: dict[str, Any]) -> None:
    report = runs["broken"]["report"]
    assert report["verdict"] == "broken"
    assert report["causes"][0]["category"] == "nginx.config_invalid", [
        c["category"] for c in report["causes"]]


def test_the_cli_reads_the_master_on_the_urls_port(runs: dict[str, Any]) -> None:
    cli, pids = runs["cli"], runs["pids"]
    assert cli["rc"] == 0, cli["stderr"][-2000:]
    report = json.loads(cli["stdout"])
    assert report["verdict"] == "healthy", report["causes"]
    notes = [n for n in report["notes"] if n.startswith("Another nginx master")]
    assert len(notes) == len(MASTERS) - 1
    assert any(n.startswith(f"{len(MASTERS)} nginx masters run here; pid {pids['beta']} (")
               for n in report["notes"])


# --- inside the namespace


def _wait_port(port: int, up: bool = True) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            if up:
                return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} not {'up' if up else 'down'}")


def _config(work: Path, name: str) -> Path:
    temps = "".join(f"    {kind}_temp_path {work}/{kind};\n"
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    listens = "".join(f"        listen 127.0.0.1:{port};\n" for port in MASTERS[name])
    conf = work / "nginx.conf"
    conf.write_text(f"""worker_processes 1;
error_log {work}/error.log;
pid {work}/nginx.pid;
events {{ worker_connections 64; }}
http {{
{temps}    access_log {work}/access.log;
    server {{
{listens}        server_name {name}.test;
        location = /healthz {{ return 200 "{name}"; }}
        location / {{ return 200 "{name}"; }}
    }}
}}
""")
    return conf


def _start(work: Path) -> tuple[dict[str, int], list[subprocess.Popen[bytes]]]:
    """Start the five masters; their pids, and the two run in the foreground."""
    pids: dict[str, int] = {}
    for name in ("alpha", "beta", "broken"):
        base = work / name
        base.mkdir()
        conf = _config(base, name)
        binary = NGINX
        if name == "beta":  # OpenResty's bin/openresty: another comm, the same title
            binary = base / "bin" / "openresty"
            binary.parent.mkdir()
            binary.symlink_to(NGINX)
        subprocess.run([str(binary), "-c", str(conf)], check=True, timeout=10)
        pids[name] = int((base / "nginx.pid").read_text())
    foreground = []
    for name in ("gamma", "delta"):
        base = work / name
        base.mkdir()
        conf = _config(base, name)
        if name == "gamma":  # a symlink of another name: comm `edge-gw`
            binary = base / "bin" / "edge-gw"
            binary.parent.mkdir()
            binary.symlink_to(NGINX)
            argv0 = str(binary)
        else:  # a copy of another name, started under yet another name
            binary = base / "gwd"
            shutil.copy(NGINX, binary)
            argv0 = "frontdoor"
        # No master process: nginx never retitles itself, its title says `edge-gw -c ...`.
        proc = subprocess.Popen([argv0, "-c", str(conf), "-g", "daemon off; master_process off;"],
                                executable=str(binary), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        foreground.append(proc)
        pids[name] = proc.pid
    for ports in MASTERS.values():
        for port in ports:
            _wait_port(port)
    # nginx renames itself after writing its pid file: wait for the titles.
    for name in ("alpha", "beta", "broken"):
        deadline = time.monotonic() + 10
        while not Path(f"/proc/{pids[name]}/cmdline").read_bytes().startswith(b"nginx: master"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name}: no master title")
            time.sleep(0.02)
    # Broken after it started: it runs its old configuration, -T fails on the new one.
    conf = work / "broken" / "nginx.conf"
    conf.write_text(conf.read_text().replace("events {", "no_such_directive on;\nevents {"))
    return pids, foreground


def _diagnose(url: str | None) -> dict[str, Any]:
    from gatewaydoctor.agent.gather import gather
    from gatewaydoctor.diagnose import diagnose
    from gatewaydoctor.evidence import Evidence
    from gatewaydoctor.parse import build_facts
    from gatewaydoctor.report.json import to_dict
    from gatewaydoctor.rules.registry import all_rules, run_rules

    raw = gather(url)
    facts = build_facts(Evidence.from_dict(raw))
    report = to_dict(diagnose(facts, run_rules(facts, all_rules())))
    keep = ("probe.", "nginx.dump", "nginx.test", "nginx.runtime")
    return {"report": report, "items": {k: v for k, v in raw["items"].items()
                                        if k.startswith(keep)}}


def _inside(work: Path) -> None:
    """In the namespace: loopback up, the masters started, one gathering per port."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    pids, foreground = _start(work)
    try:
        out: dict[str, Any] = {"pids": pids, "work": str(work)}
        for name, ports in MASTERS.items():
            out[name] = _diagnose(f"http://{name}.test:{ports[-1]}/healthz")
        out["no_url"] = _diagnose(None)
        # Nobody listens on 443 here (TLS ended in front): gamma's configuration names it.
        out["by_name"] = _diagnose("https://gamma.test/healthz")
        cli = subprocess.run([sys.executable, "-m", "gatewaydoctor", "diagnose", "--json", "-q",
                              "http://beta.test:18081/healthz"],
                             capture_output=True, text=True, timeout=120, check=False)
        out["cli"] = {"rc": cli.returncode, "stdout": cli.stdout, "stderr": cli.stderr}
        # The others stopped: gamma alone, whose title never says nginx, still runs nginx.
        for name in ("alpha", "beta", "broken"):
            os.kill(pids[name], signal.SIGQUIT)
        foreground[1].terminate()
        foreground[1].wait(timeout=10)
        for name in ("alpha", "beta", "broken", "delta"):
            for port in MASTERS[name]:
                _wait_port(port, up=False)
        out["alone"] = _diagnose("http://gamma.test:18082/healthz")
    finally:
        for name, pid in pids.items():
            with_sig = signal.SIGTERM if name in ("gamma", "delta") else signal.SIGQUIT
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, with_sig)
        for proc in foreground:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(json.dumps(out))


if __name__ == "__main__":
    _inside(Path(sys.argv[1]))
