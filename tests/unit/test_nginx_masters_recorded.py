"""Finding nginx masters and choosing the serving one, on a recorded process table.

tests/data/nginx-masters/two-masters.json was recorded (procfs.processes, sock_diag and
/proc/net/tcp, in a network and pid namespace of its own) with a panel-style master
(`-c /srv/www/server/nginx/conf/nginx.conf`, two workers, on 80 and 18080), an nginx run
through a symlink named `edge-gw` with `master_process off` on 18082 (its title never
says nginx), and a Python http.server on 9000.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from gatewaydoctor.agent import nginxscan
from gatewaydoctor.diagnose import notes
from gatewaydoctor.evidence import Evidence
from gatewaydoctor.formats import sources
from gatewaydoctor.parse import build_facts
from gatewaydoctor.parse.nginx_config import masters_from

DATA = Path(__file__).resolve().parents[1] / "data"
RECORDED = json.loads((DATA / "nginx-masters" / "two-masters.json").read_text())
PANEL = "/srv/www/server/nginx/conf/nginx.conf"


def _masters(table: dict[str, Any] = RECORDED) -> list[dict[str, Any]]:
    return nginxscan.masters_from(table["processes"], table["sockets"])


def test_masters_are_found_by_title_and_by_sockets() -> None:
    found = _masters()
    assert [(m["pid"], m["found_by"], m["conf"], m["ports"]) for m in found] == [
        (4, "title", PANEL, ["127.0.0.1:80", "127.0.0.1:18080"]),
        (5, "sockets", "/srv/edge/nginx.conf", ["127.0.0.1:18082"])]
    # The -g of an argv (not a title): one value, as it was given.
    assert found[1]["globals"] == "daemon off; master_process off;"
    assert found[1]["binary"] == "/srv/edge/bin/edge-gw"


def test_workers_and_other_listeners_are_not_masters() -> None:
    table = copy.deepcopy(RECORDED)
    # A worker whose title was lost still has an nginx parent; python holds 9000.
    for proc in table["processes"]:
        if proc["pid"] == 6:
            proc["cmdline"] = ["/usr/sbin/nginx"]
    assert [m["pid"] for m in _masters(table)] == [4, 5]


def test_a_copy_under_another_name_is_nginx_by_its_banner(tmp_path: Path) -> None:
    binary = Path("/usr/sbin/nginx")
    if not binary.exists():
        pytest.skip("/usr/sbin/nginx is not installed")
    copy_ = tmp_path / "gwd"
    copy_.write_bytes(binary.read_bytes())
    assert nginxscan.is_nginx_binary(str(copy_))
    table = copy.deepcopy(RECORDED)
    table["processes"][1]["exe"] = str(copy_)
    assert [m["pid"] for m in _masters(table)] == [4, 5]
    # Not nginx: a binary that only mentions it, and one merely named after it (an
    # exporter listening on 9113 must never be run with -T).
    not_nginx = tmp_path / "nginx-prometheus-exporter"
    not_nginx.write_bytes(b"\x7fELF" + b"\0" * 4096 + b"nginx version: %s proxy_pass")
    table["processes"][1]["exe"] = str(not_nginx)
    assert [m["pid"] for m in _masters(table)] == [4]
    for name in ("nginx", "openresty", "nginx-debug", "Tengine", "angie"):
        assert nginxscan.is_nginx_binary(f"/nowhere/{name}"), name
    assert not nginxscan.is_nginx_binary("/nowhere/nginx-prometheus-exporter")


def test_ports_come_from_the_workers_when_the_masters_fds_are_unreadable() -> None:
    table = copy.deepcopy(RECORDED)
    table["processes"][0]["socket_inodes"] = []  # another user's master, read as nobody
    assert _masters(table)[0]["ports"] == ["127.0.0.1:80", "127.0.0.1:18080"]


@pytest.mark.parametrize(("port", "pid", "why"), [
    (18082, 5, "listens on port 18082"), (18080, 4, "listens on port 18080"),
    (None, 4, "listens on port 80"),
    (9000, 4, "the first master (none listens on the port asked)")])
def test_the_serving_master_is_the_one_on_the_port(port: int | None, pid: int,
                                                   why: str) -> None:
    found = [dict(m, path=m["binary"]) for m in _masters()]
    master, said = nginxscan.serving(found, port)
    assert master is not None and (master["pid"], said) == (pid, why)


SERVED = {4: ({80, 18080}, {"panel.example.com", "_"}), 5: ({18082}, {"*.edge.example"})}


def test_without_sockets_the_configurations_listens_choose() -> None:
    found = [dict(m, path=m["binary"], ports=[]) for m in _masters()]
    master, said = nginxscan.serving(found, 18082, SERVED)
    assert master is not None and master["pid"] == 5
    assert said == "its configuration listens on port 18082"


@pytest.mark.parametrize(("host", "pid", "why"), [
    ("shop.edge.example", 5, "its configuration serves shop.edge.example"),
    ("PANEL.example.com", 4, "its configuration serves PANEL.example.com"),
    ("other.example", 4, "the first master (none listens on the port asked)")])
def test_on_a_port_no_master_listens_on_the_host_chooses(host: str, pid: int,
                                                         why: str) -> None:
    # A CDN or load balancer ends TLS and forwards 443 elsewhere: the name decides.
    found = [dict(m, path=m["binary"]) for m in _masters()]
    master, said = nginxscan.serving(found, 443, SERVED, host)
    assert master is not None and (master["pid"], said) == (pid, why)


def test_on_a_shared_port_the_host_chooses() -> None:
    # Two masters on port 80 of different addresses (127.0.0.1 and 10.0.0.5, say).
    found = [dict(m, path=m["binary"], ports=["127.0.0.1:80"]) for m in _masters()]
    master, _why = nginxscan.serving(found, 80, SERVED, "a.edge.example")
    assert master is not None and master["pid"] == 5
    master, _why = nginxscan.serving(found, 80, SERVED, "unknown.example")
    assert master is not None and master["pid"] == 4


def test_listening_sockets_from_proc_net_tcp() -> None:
    got = nginxscan.proc_net_listeners(RECORDED["proc_net_tcp"])
    want = [{k: s[k] for k in ("host", "port", "inode")} for s in RECORDED["sockets"]]
    assert sorted(got, key=lambda s: s["port"]) == want


def _evidence(masters: list[dict[str, Any]], *, other_rc: int = 0) -> dict[str, Any]:
    """Evidence as the agent writes it for these masters, the first serving."""
    def item(source: str, m: dict[str, Any], rc: int) -> dict[str, Any]:
        return {"source": source, "kind": "command", "argv": [*nginxscan.command(m), "-T"],
                "rc": rc, "stdout": f"# configuration file {m['conf']}:\nevents {{}}\n",
                "stderr": "", "data": {"master": nginxscan.summary(m)}}
    main = item(sources.NGINX_DUMP, masters[0], 0)
    main["data"].update(serving="listens on port 80", others=[
        dict(nginxscan.summary(m), source=sources.nginx_master_dump(m["pid"]))
        for m in masters[1:]])
    items = {sources.NGINX_DUMP: main}
    for m in masters[1:]:
        key = sources.nginx_master_dump(m["pid"])
        items[key] = item(key, m, other_rc)
    return {"schema": "gatewaydoctor.evidence/1", "host": "h", "items": items}


def test_the_facts_name_every_master_the_serving_one_first() -> None:
    found = [dict(m, path=m["binary"]) for m in _masters()]
    facts = build_facts(Evidence.from_dict(_evidence(found, other_rc=1)))
    serving, other = facts.nginx_masters
    assert (serving.pid, serving.serving, serving.source, serving.dump_ok) == (
        4, True, "nginx.dump", True)
    assert serving.command == f"/usr/sbin/nginx -c {PANEL}"
    assert (other.pid, other.serving, other.source, other.dump_ok, other.found_by) == (
        5, False, "nginx.dump:5", False, "sockets")
    said = notes(facts)
    assert said[0].startswith("2 nginx masters run here; pid 4 (/usr/sbin/nginx -c ")
    assert "listens on port 80 or 443" in said[0]
    assert said[1].startswith("Another nginx master, not this request's: pid 5, "
                              "/srv/edge/bin/edge-gw -c /srv/edge/nginx.conf")
    assert "listening sockets" in said[1] and "127.0.0.1:18082" in said[1]
    assert said[1].endswith("; its nginx -T fails.")


def test_one_master_makes_no_note_and_old_evidence_no_masters() -> None:
    found = [dict(m, path=m["binary"]) for m in _masters()][:1]
    facts = build_facts(Evidence.from_dict(_evidence(found)))
    assert [m.pid for m in facts.nginx_masters] == [4]
    assert notes(facts) == []
    # Evidence from before the agent recorded masters (data: master, masters: [pids]).
    old = _evidence(found)
    old["items"]["nginx.dump"]["data"] = {"master": None, "masters": [4]}
    assert build_facts(Evidence.from_dict(old)).nginx_masters == ()


@pytest.mark.parametrize("data", [
    {"master": "x"}, {"master": {"pid": "4", "ports": "80"}, "others": [1, None, {"pid": []}]},
    {"master": {}, "others": {"a": 1}, "serving": 3}])
def test_hostile_master_data_is_read_without_failing(data: dict[str, Any]) -> None:
    ev = Evidence.from_dict({"schema": "gatewaydoctor.evidence/1", "host": "h", "items": {
        "nginx.dump": {"source": "nginx.dump", "kind": "command", "rc": 0, "data": data}}})
    got = masters_from(ev.get(sources.NGINX_DUMP), ev.items)
    assert all(m.pid is None or isinstance(m.pid, int) for m in got)


def test_the_fixes_name_the_unit_of_the_serving_master_found_by_its_sockets() -> None:
    # The serving master is edge-gw (no nginx title); the titled panel master runs under
    # another unit. The fixes' commands must name edge-gw's unit and binary, not the panel's.
    found = [dict(m, path=m["binary"]) for m in _masters()]
    ev = _evidence([found[1], found[0]])
    procs = copy.deepcopy(RECORDED["processes"])
    for proc in procs:
        proc["cgroup"] = {4: "/system.slice/panel-nginx.service",
                          5: "/system.slice/edge.service"}.get(proc["pid"], "/")
    ev["items"][sources.PROCESSES] = {"source": sources.PROCESSES, "kind": "listing",
                                      "data": {"processes": procs}}
    facts = build_facts(Evidence.from_dict(ev))
    assert facts.nginx_control is not None
    assert facts.nginx_control.unit == "edge"
    assert facts.nginx_control.argv[0] == "/srv/edge/bin/edge-gw"
    edge = next(p for p in facts.processes or () if p.pid == 5)
    assert facts.is_nginx_master(edge)
    assert not facts.is_nginx_master(next(p for p in facts.processes or () if p.pid == 6))


def test_a_master_in_another_mount_namespace_is_read_inside_it() -> None:
    # edge-gw in a container (its own mount namespace): -T runs there, through nsenter.
    table = copy.deepcopy(RECORDED)
    for proc in table["processes"]:
        proc["mntns"] = "mnt:[4026532001]" if proc["pid"] == 5 else "mnt:[4026531841]"
    found = nginxscan.masters_from(table["processes"], table["sockets"], "mnt:[4026531841]")
    assert [m["root"] for m in found] == [None, "/proc/5/root"]
    argv = nginxscan.command(dict(found[1], path=found[1]["binary"]))
    assert argv[argv.index("--") - 3:argv.index("--") + 2] == [
        "-t", "5", "-m", "--", "/srv/edge/bin/edge-gw"]
    # Records without namespaces (older agents, other users' processes): on the host.
    assert [m["root"] for m in _masters()] == [None, None]
