"""nginx and the app in real Podman and Docker containers (tests/unit/container_stack.py, in
namespaces of its own): the agent finds each container from its processes' cgroups and names
it from what runs it (podman's conmon, Docker's config.v2.json), lists every container
running or not, reads each other network namespace's listening sockets and nginx's
configuration and logs inside its container; netns-loopback names the trap (a container's
127.0.0.1 is its own) with a fix that fits where each side runs, and a crashed app container
is diagnosed from its output like a unit from its journal.
"""

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

from gatewaydoctor.diagnose import Diagnosis, diagnose
from gatewaydoctor.evidence import load
from gatewaydoctor.facts import Facts
from gatewaydoctor.parse import build_facts
from gatewaydoctor.rules import all_rules, run_rules

HERE = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
NEEDS = ("unshare", "nsenter", "ip", "podman", "runc", "dockerd", "docker")
CGROUPS = Path("/sys/fs/cgroup")


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root (namespaces, containers)"
    absent = [t for t in NEEDS if shutil.which(t) is None]
    if not Path("/usr/sbin/nginx").exists():
        absent.append("nginx")
    if not (Path(sys.executable).parent / "uvicorn").exists():
        absent.append("uvicorn in the test venv")
    return f"missing: {', '.join(absent)} (scripts/test installs them)" if absent else None


def _podman_cgroups() -> set[Path]:
    """The runtimes' cgroups on the host (cgroupfs driver): podman's `libpod_parent` and
    Docker's `docker` in each hierarchy."""
    return {p for name in ("libpod_parent", "docker")
            for p in (*CGROUPS.glob(f"*/{name}"), *CGROUPS.glob(name))}


def _remove_cgroups(paths: set[Path]) -> None:
    """Remove the cgroup trees the runtimes left behind (empty once their processes are
    gone; the kernel may take a moment to let the last one go, and a runtime's own cleanup
    may remove some at the same time)."""
    for top in paths:
        subs = [Path(d) for d, _dirs, _files in os.walk(top, topdown=False)]
        for sub in subs:
            for _ in range(50):
                try:
                    sub.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                sub.rmdir()  # still busy after 5 s: fail the test, naming it


# What the runtimes write on a host where they run for the first time: the tests keep all
# of it inside their own folders and namespaces, and the agent asks podman only where it
# already has containers (its first `podman ps` would create its state).
HOST_STATE = ("/var/lib/containers", "/run/containers", "/run/libpod", "/var/lib/docker",
              "/run/docker", "/run/containerd", "/opt/containerd", "/etc/docker/key.json")

_RUNS: dict[str, tuple[dict[str, Any], Facts, Diagnosis]] = {}


def _stack(scenario: str, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[dict[str, Any], Facts, Diagnosis]:
    why = _missing()
    if why and IN_CI:
        pytest.fail(f"podman, docker, nginx and namespaces are needed in CI: {why}")
    if why:
        pytest.skip(why)
    if scenario not in _RUNS:
        base = tmp_path_factory.mktemp(scenario)
        out = base / "evidence.json"
        before = _podman_cgroups()
        state = [p for p in HOST_STATE if os.path.exists(p)]
        try:
            proc = subprocess.run(
                ["unshare", "--pid", "--fork", "--mount-proc", "--net", sys.executable,
                 str(HERE / "container_stack.py"), scenario, str(base / "stack"), str(out)],
                capture_output=True, text=True, timeout=300, check=False)
        finally:
            _remove_cgroups(_podman_cgroups() - before)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert [p for p in HOST_STATE if os.path.exists(p)] == state
        facts = build_facts(load(str(out)))
        _RUNS[scenario] = (json.loads(out.read_text()), facts,
                           diagnose(facts, run_rules(facts, all_rules())))
    return _RUNS[scenario]


def _first_cause(d: Diagnosis) -> str | None:
    return d.causes[0].category if d.causes else None


def test_nginx_in_a_container_proxying_to_its_own_loopback(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    ev, facts, d = _stack("nginx-in-container", tmp_path_factory)
    assert ev["test_seen"] == {"status": 502}
    (box,) = facts.namespaces.containers if facts.namespaces else ()
    assert (box.runtime, box.name) == ("podman", "gd-proxy")
    assert box.log and box.log.endswith("/userdata/ctr.log")
    # nginx -T ran inside the container's mount namespace, and its log was read there.
    master = ev["items"]["nginx.dump"]["data"]["master"]
    assert ev["items"]["nginx.dump"]["argv"][:5] == [
        shutil.which("nsenter"), "-t", str(master["pid"]), "-m", "--"]
    logs = [k for k in ev["items"] if k.startswith("nginx.error_log:")]
    assert [ev["items"][k]["path"] for k in logs] == [
        f"/proc/{master['pid']}/root{k.partition(':')[2]}" for k in logs]
    assert _first_cause(d) == "network.namespace"
    cause = d.causes[0]
    assert "podman container gd-proxy" in cause.title
    assert any("connect() failed (111: Connection refused)" in e.text for e in cause.evidence)
    assert "podman exec gd-proxy nginx" in cause.fix.commands[-1]
    # nginx was asked from its own namespace, where its listen address is: its own 502.
    asked = ev["items"]["probe.http:nginx:127.0.0.1:8080/"]
    assert asked["argv"][:4] == [shutil.which("nsenter"), "-t", str(master["pid"]), "-n"]
    assert asked["data"]["status"] == 502 and asked["data"]["netns_of"] == master["pid"]
    # Not also a "mismatch": the app listens at the very address, elsewhere.
    assert "nginx.upstream_mismatch" not in {f.category for f in d.findings}


def test_app_in_a_container_not_published(tmp_path_factory: pytest.TempPathFactory) -> None:
    ev, facts, d = _stack("app-in-container", tmp_path_factory)
    assert ev["test_seen"] == {"status": 502}
    assert _first_cause(d) == "network.namespace"
    assert "podman container gd-api" in d.causes[0].title
    assert "-p 127.0.0.1:8000:8000" in d.causes[0].fix.summary
    # The container's socket was read from its own namespace's table.
    (other,) = facts.namespaces.others if facts.namespaces else ()
    assert [li.endpoint.label for li in other.listeners] == ["127.0.0.1:8000"]
    assert other.listeners[0].pids


def test_nginx_and_app_in_two_containers(tmp_path_factory: pytest.TempPathFactory) -> None:
    _ev, facts, d = _stack("both-in-containers", tmp_path_factory)
    assert sorted(c.name or "" for c in facts.namespaces.containers) == ["gd-api", "gd-proxy"] \
        if facts.namespaces else False
    assert _first_cause(d) == "network.namespace"
    assert "proxy_pass http://gd-api:8000" in d.causes[0].fix.summary


def test_nginx_in_a_container_on_the_host_network_is_healthy(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    ev, facts, d = _stack("host-network", tmp_path_factory)
    assert ev["test_seen"] == {"status": 200}
    assert [c.name for c in facts.namespaces.containers] == ["gd-proxy"] \
        if facts.namespaces else False
    assert d.causes == () or not d.causes, [f.title for f in d.causes]


def test_a_container_running_the_app_is_a_service(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    ev, facts, d = _stack("app-container", tmp_path_factory)
    assert ev["test_seen"] == {"status": 200}
    (unit,) = [u for u in facts.units or () if u.manager == "container"]
    assert (unit.name, unit.state, unit.server, unit.control) == (
        "container:gd-api", "active/running", "uvicorn", "podman")
    assert unit.restart_command == "podman restart gd-api"
    # The process holding the port is tied to the container's service.
    (li,) = [li for li in facts.listeners or () if li.endpoint.port == 8000]
    assert {facts.process(p).unit for p in li.pids if facts.process(p)} == {"container:gd-api"}
    assert not d.causes, [f.title for f in d.causes]


def test_a_crashed_app_container_is_diagnosed_from_its_output(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    ev, facts, d = _stack("app-container-crashed", tmp_path_factory)
    assert ev["test_seen"] == {"status": 502}
    (unit,) = [u for u in facts.units or () if u.manager == "container"]
    assert (unit.active_state, unit.exec_main_status) == ("failed", 1)
    assert _first_cause(d) == "app.missing_dependency"
    cause = d.causes[0]
    assert cause.evidence[0].source == "podman logs --tail 200 gd-api"
    assert "stripe_payments_sdk" in cause.evidence[0].text
    # Not pip into the image's Python: the package goes into the image, built again.
    assert cause.fix.commands[-1].startswith("podman compose up -d --build")


def test_docker_a_crashed_app_container_read_from_its_files(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    ev, facts, d = _stack("docker-app-container-crashed", tmp_path_factory)
    assert ev["test_seen"] == {"status": 502}
    # Docker's own files under the data root its daemon was started with, no daemon asked.
    listed = ev["items"]["container.list:docker"]
    assert listed["path"].endswith("/docker/containers") and listed["argv"] is None
    (unit,) = [u for u in facts.units or () if u.manager == "container"]
    assert (unit.name, unit.active_state, unit.exec_main_status, unit.control) == (
        "container:gd-api", "failed", 1, "docker")
    assert _first_cause(d) == "app.missing_dependency"
    cause = d.causes[0]
    assert cause.evidence[0].source.endswith("-json.log")
    assert "stripe_payments_sdk" in cause.evidence[0].text
    assert cause.fix.commands[-1].startswith("docker compose up -d --build")
    assert f"({Path(sys.prefix)}/bin/python)" in cause.explanation  # the venv's, not uvicorn


def test_docker_nginx_in_a_container_proxying_to_its_own_loopback(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    _ev, facts, d = _stack("docker-nginx-in-container", tmp_path_factory)
    (box,) = facts.namespaces.containers if facts.namespaces else ()
    assert (box.runtime, box.name) == ("docker", "gd-proxy")
    assert box.log and box.log.endswith("-json.log")
    assert _first_cause(d) == "network.namespace"
    assert "docker container gd-proxy" in d.causes[0].title
    assert d.causes[0].fix.commands[-1].startswith("docker exec gd-proxy nginx ")


def test_a_port_forwarded_by_nat_is_not_dead(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Nothing listens at proxy_pass's 127.0.0.1:8000, but a DNAT rule (what runtimes set for
    a published port) forwards it to the app: the agent's connect there is the evidence."""
    ev, facts, d = _stack("nat-forwarded", tmp_path_factory)
    assert ev["test_seen"] == {"status": 200}
    assert not [li for li in facts.listeners or () if li.endpoint.port == 8000]
    assert ev["items"]["probe.connect:127.0.0.1:8000"]["error"] is None
    assert facts.dead_targets() == []
    assert not d.causes and not d.findings, [f.title for f in d.findings]
