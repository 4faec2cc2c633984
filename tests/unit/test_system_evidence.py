"""Database, system, firewall and SELinux evidence: gathered for real, parsed from real formats."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from conftest import ROOT, free_port

from gatewaydoctor.agent import dbprobe, firewall, sysinfo
from gatewaydoctor.evidence import Evidence, Item, load
from gatewaydoctor.facts import FirewallRule, FirewallState
from gatewaydoctor.facts.database import classify
from gatewaydoctor.parse import build_facts
from gatewaydoctor.parse import firewall as fwparse
from gatewaydoctor.parse.system import avc_denial

SECRET = "Pl4nted-S3cret-pw"
LAB = ROOT / "tests" / "data" / "lab"

# A driver that echoes what it was given, the way a careless wrapper would.
ECHO_DRIVER = (
    "def connect(dsn, connect_timeout=None):\n"
    "    raise RuntimeError('could not connect to server: ' + dsn + ' password=' + dsn.split(':')"
    "[2].split('@')[0])\n"
)


def _props(tmp_path: Path, env_line: str) -> dict[str, str]:
    return {"WorkingDirectory": str(tmp_path), "Environment": env_line,
            "EnvironmentFiles": f"{tmp_path}/app.env (ignore_errors=no)"}


def test_settings_come_from_env_files_and_dotenv_without_other_urls(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"DATABASE_URL=postgres://a:{SECRET}@db:5433/main\n"
                                   "REDIS_URL=redis://localhost:6379/0\n")
    (tmp_path / "app.env").write_text(
        f"POSTGRES_URL=postgresql+asyncpg://app:{SECRET}@127.0.0.1/appdb\n")
    found = dbprobe.database_settings(_props(tmp_path, ""), None)
    assert [(k, origin) for k, _v, origin in found] == [
        ("DATABASE_URL", f"{tmp_path}/.env"), ("POSTGRES_URL", f"{tmp_path}/app.env")]
    info = dbprobe.describe(found[1][1])
    assert info == {"scheme": "postgresql+asyncpg", "host": "127.0.0.1", "port": 5432,
                    "dbname": "appdb", "user": "app"}
    assert dbprobe._driver_order(info["scheme"])[0] == "asyncpg"


def test_login_probe_never_records_the_password(tmp_path: Path) -> None:
    drivers = tmp_path / "drivers"
    drivers.mkdir()
    (drivers / "psycopg2.py").write_text(ECHO_DRIVER)
    port = free_port()
    dsn = f"postgresql://app:{SECRET}@127.0.0.1:{port}/appdb"
    (tmp_path / "app.env").write_text(f"POSTGRES_URL={dsn}\n")
    props = _props(tmp_path, f"PYTHONPATH={drivers}")
    [(source, kwargs)] = dbprobe.plan("api.service", props, [sys.executable, "-m", "uvicorn"],
                                      no_exec=False)
    item = dbprobe.check(source, **kwargs)
    dumped = json.dumps(item)
    assert SECRET not in dumped and dsn not in dumped
    login = item["data"]["login"]
    assert login["driver"] == "psycopg2" and login["ok"] is False
    assert "could not connect to server" in login["error"] and "***" in login["error"]
    assert item["data"]["connect"]["errno"] == 111
    assert item["data"]["host"] == "127.0.0.1" and item["data"]["user"] == "app"
    skipped = dbprobe.check(source, **{**kwargs, "no_exec": True})
    assert skipped["data"]["login"]["ok"] is None and SECRET not in json.dumps(skipped)


def test_driver_errors_are_classified() -> None:
    lines = {
        'connection to server at "127.0.0.1", port 5432 failed: Connection refused':
            "unreachable",
        "psycopg.OperationalError: connection failed: connection to server at \"10.0.0.5\", "
        "port 5432 failed: timeout expired": "unreachable",
        "ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 5432)":
            "unreachable",
        'could not translate host name "db" to address: Name or service not known':
            "unreachable",
        'FATAL:  password authentication failed for user "app"': "auth",
        'FATAL:  no pg_hba.conf entry for host "10.0.0.9", user "app", database "appdb", '
        "no encryption": "auth",
        'asyncpg.exceptions.InvalidCatalogNameError: database "appdb_prod" does not exist':
            "not_found",
        "sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached": None,
    }
    for line, kind in lines.items():
        assert classify(line) == kind, line


def test_disk_usage_covers_mounts_below_the_workdir_and_limits_read_proc(tmp_path: Path) -> None:
    item = sysinfo.disk_usage("sys.disk", [str(tmp_path)])
    disks = {d["path"]: d for d in item["data"]["disks"]}
    assert str(tmp_path) in disks and "/tmp" in disks
    assert disks[str(tmp_path)]["total"] > 0 and disks[str(tmp_path)]["mount_point"]
    limits = sysinfo.open_file_limits("sys.limits", [(os.getpid(), "python")])
    row = limits["data"]["processes"][0]
    assert row["soft"] is not None and row["open_fds"] and row["open_fds"] > 2


def _state(source: str, text: str) -> FirewallState:
    ev = Evidence.from_dict({"schema": "gatewaydoctor.evidence/1", "items": {
        source: {"kind": "command", "rc": 0, "stdout": text}}})
    state = fwparse.firewall_state(ev)
    assert state is not None
    return state


def test_nft_rule_recorded_in_the_lab_blocks_port_80_only() -> None:
    text = load(LAB / "firewall-drop.json").items["firewall.nft"].stdout or ""
    state = _state("firewall.nft", text)
    found = state.blocking(80)
    assert isinstance(found, FirewallRule) and found.verdict == "drop"
    assert state.blocking(443) is None


def test_ufw_and_iptables_policies() -> None:
    ufw = ("Status: active\nLogging: on (low)\nDefault: deny (incoming), allow (outgoing), "
           "disabled (routed)\nNew profiles: skip\n\nTo                         Action      From\n"
           "--                         ------      ----\n22/tcp                     ALLOW IN    "
           "Anywhere\n443/tcp                    ALLOW IN    Anywhere\n")
    state = _state("firewall.ufw", ufw)
    assert state.blocking(443) is None
    assert state.blocking(80) is not None
    ipt = ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 203.0.113.7/32 -p tcp -m tcp --dport 80 "
           "-j DROP\n-A INPUT -p tcp -m tcp --dport 8000 -j REJECT --reject-with "
           "icmp-port-unreachable\nCOMMIT\n")
    state = _state("firewall.iptables", ipt)
    assert state.blocking(80) is None  # aimed at one source: deliberate
    assert state.blocking(8000) is not None


def test_avc_record_parsed() -> None:
    line = ("type=AVC msg=audit(1732350000.123:456): avc:  denied  { name_connect } for  "
            'pid=2143 comm="nginx" dest=8000 scontext=system_u:system_r:httpd_t:s0 '
            "tcontext=system_u:object_r:soundd_port_t:s0 tclass=tcp_socket permissive=0")
    d = avc_denial(line, "/var/log/audit/audit.log")
    assert d is not None
    assert (d.permissions, d.comm, d.dest, d.tclass, d.permissive) == (
        ("name_connect",), "nginx", 8000, "tcp_socket", False)


def test_selinux_absent_here_and_recorded_facts_present() -> None:
    item = firewall.selinux_state("security.selinux")
    assert item["data"]["present"] == os.path.exists("/sys/fs/selinux/enforce")
    facts = build_facts(load(LAB / "healthy.json"))
    assert facts.system is not None and facts.system.mem_total_kb
    assert facts.databases and facts.databases[0].login_ok is True
    assert facts.selinux is not None and not facts.selinux.present
    kernel = load(LAB / "healthy.json").items["journal.kernel"]
    assert isinstance(kernel, Item) and kernel.argv and "warning" in kernel.argv
