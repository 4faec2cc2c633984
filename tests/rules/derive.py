"""Derive the per-rule fixtures from the lab recordings in tests/data/lab/.

Run from the repository root: `python tests/rules/derive.py`. Most fixtures are a
lab recording as is (process list trimmed to the processes that matter); a few
are a recording with one item changed, said below.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "tests" / "data" / "lab"
OUT = ROOT / "tests" / "rules"
KEEP_COMM = re.compile(r"^(nginx|python.*|uvicorn|gunicorn|postgres|systemd)$")

JOURNAL_FIELDS = {"MESSAGE", "_PID", "SYSLOG_IDENTIFIER", "PRIORITY", "__REALTIME_TIMESTAMP",
                  "UNIT", "_SYSTEMD_UNIT"}


def lab(name: str) -> dict[str, Any]:
    ev: dict[str, Any] = json.loads((LAB / f"{name}.json").read_text())
    procs = ev["items"]["proc.processes"]["data"]
    procs["processes"] = [p for p in procs["processes"] if KEEP_COMM.match(p["comm"])]
    for key, item in ev["items"].items():
        if key.startswith("journal.") and item.get("stdout"):
            records = [json.loads(line) for line in item["stdout"].splitlines() if line.strip()]
            if key == "journal.kernel":
                records = records[-20:]
            item["stdout"] = "".join(
                json.dumps({k: v for k, v in r.items() if k in JOURNAL_FIELDS}) + "\n"
                for r in records)
    return ev


def nginx_fixtures(healthy: dict[str, Any], healthy_gunicorn: dict[str, Any],
                   stopped: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """nginx and nginx-to-backend rules: every firing fixture is a lab recording as is."""
    mismatch, not_reloaded = lab("upstream-mismatch"), lab("nginx-not-reloaded")
    slow, worker_timeout = lab("upstream-slow"), lab("gunicorn-worker-timeout")
    return {
        "config-invalid": {"fires_lab": lab("nginx-config-invalid"),
                           "healthy_uvicorn": healthy, "healthy_not_reloaded": not_reloaded},
        "upstream-mismatch": {"fires_lab": mismatch, "healthy_uvicorn": healthy,
                              "healthy_app_down": stopped, "healthy_not_reloaded": not_reloaded},
        "not-reloaded": {"fires_lab": not_reloaded, "healthy_uvicorn": healthy,
                         "healthy_upstream_mismatch": mismatch},
        "upstream-address-family": {"fires_lab": lab("localhost-ipv6"),
                                    "healthy_uvicorn": healthy,
                                    "healthy_gunicorn": healthy_gunicorn,
                                    "healthy_upstream_mismatch": mismatch},
        "rate-limited": {"fires_lab": lab("rate-limit-docs"), "healthy_uvicorn": healthy,
                         "healthy_gunicorn": healthy_gunicorn},
        "header-too-big": {"fires_lab": lab("header-too-big"), "healthy_uvicorn": healthy,
                           "healthy_upstream_slow": slow},
        "upstream-timeout": {"fires_lab": slow, "healthy_uvicorn": healthy,
                             "healthy_worker_timeout": worker_timeout},
        "gunicorn-worker-timeout": {"fires_lab": worker_timeout,
                                    "healthy_gunicorn": healthy_gunicorn,
                                    "healthy_upstream_slow": slow},
        "socket-permission": {"fires_lab": lab("socket-permission"),
                              "healthy_gunicorn": healthy_gunicorn, "healthy_uvicorn": healthy},
        "worker-connections": {"fires_lab": lab("worker-connections"), "healthy_uvicorn": healthy,
                               "healthy_gunicorn": healthy_gunicorn},
    }


def without_nginx(ev: dict[str, Any]) -> dict[str, Any]:
    ev = copy.deepcopy(ev)
    procs = ev["items"]["proc.processes"]["data"]
    procs["processes"] = [p for p in procs["processes"] if p["comm"] != "nginx"]
    return ev


def main() -> None:
    healthy, healthy_gunicorn = lab("healthy"), lab("healthy-gunicorn")
    stopped, looping = lab("service-stopped"), lab("relative-import")
    fixtures = {
        "relative-import": {"fires_journal": looping,
                            "fires_rotated_journal": lab("relative-import-rotated"),
                            "fires_supervisor": lab("supervisor-relative-import"),
                            "healthy_uvicorn": healthy, "healthy_missing_dependency":
                            lab("missing-dependency")},
        "missing-dependency": {"fires_lab": lab("missing-dependency"),
                               "healthy_uvicorn": healthy, "healthy_wrong_target":
                               lab("wrong-target")},
        "wrong-target": {"fires_lab": lab("wrong-target"), "healthy_uvicorn": healthy,
                         "healthy_missing_dependency": lab("missing-dependency")},
        "crash-loop": {"fires_relative_import": looping, "fires_unknown":
                       lab("crash-loop-unknown"), "healthy_uvicorn": healthy,
                       "healthy_stopped": stopped},
        "start-limit-hit": {"fires_lab": lab("start-limit-hit"), "healthy_uvicorn": healthy,
                            "healthy_crash_loop": lab("crash-loop-unknown")},
        "exec-missing": {"fires_lab": lab("exec-missing"), "healthy_uvicorn": healthy,
                         "healthy_workdir_missing": lab("workdir-missing")},
        "workdir-missing": {"fires_lab": lab("workdir-missing"), "healthy_uvicorn": healthy,
                            "healthy_exec_missing": lab("exec-missing")},
        "unit-changed": {"fires_lab": lab("unit-changed-no-reload"), "healthy_uvicorn": healthy,
                         "healthy_exec_missing": lab("exec-missing")},
        "startup-failed": {"fires_lab": lab("startup-failure"), "healthy_uvicorn": healthy,
                           "healthy_gunicorn": healthy_gunicorn,
                           "healthy_relative_import": looping},
        "python-version": {"fires_lab": lab("python-version"), "healthy_uvicorn": healthy,
                           "healthy_missing_dependency": lab("missing-dependency")},
        "env-missing": {"fires_env_file_missing": lab("env-file-missing"),
                        "fires_var_unset": lab("env-var-unset"), "healthy_uvicorn": healthy,
                        "healthy_relative_import": looping},
        "permission-denied": {"fires_code": lab("permission-code"),
                              "fires_write": lab("permission-write"),
                              "healthy_uvicorn": healthy, "healthy_gunicorn": healthy_gunicorn},
        "port-conflict": {"fires_lab": lab("port-conflict"), "healthy_uvicorn": healthy,
                          "healthy_stopped": stopped},
        "service-not-running": {"fires_stopped": stopped, "fires_disabled":
                                lab("service-disabled"), "healthy_uvicorn": healthy,
                                "healthy_crash_loop": looping,
                                # the disabled unit supervisord's program replaced
                                "healthy_supervisor": lab("supervisor-healthy")},
        "supervisor-program-down": {"fires_fatal": lab("supervisor-relative-import"),
                                    "fires_stopped": lab("supervisor-stopped"),
                                    "healthy_supervisor": lab("supervisor-healthy"),
                                    "healthy_uvicorn": healthy},
        "upstream-not-listening": {"fires_stopped": stopped, "healthy_uvicorn": healthy,
                                   "healthy_gunicorn_socket": healthy_gunicorn},
        "nginx-not-running": {"fires_no_master": without_nginx(healthy),
                              "fires_config_invalid": lab("nginx-config-invalid"),
                              "healthy_uvicorn": healthy},
        "probe-failed": {"fires_502": stopped, "healthy_uvicorn": healthy},
    }
    fixtures.update(system_fixtures(healthy, healthy_gunicorn, stopped))
    fixtures.update(nginx_fixtures(healthy, healthy_gunicorn, stopped))
    for symbol, cases in fixtures.items():
        (OUT / symbol).mkdir(parents=True, exist_ok=True)
        for name, ev in cases.items():
            path = OUT / symbol / f"{name}.json"
            path.write_text(json.dumps(ev, indent=1, sort_keys=True) + "\n")


def system_fixtures(healthy: dict[str, Any], healthy_gunicorn: dict[str, Any],
                    stopped: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Database, system, firewall and SELinux rules (see each function for changed items)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for symbol, prefix, other in (("database-unreachable", "db-down", "db-auth"),
                                  ("database-auth-failed", "db-auth", "db-missing"),
                                  ("database-not-found", "db-missing", "db-down")):
        out[symbol] = {"fires_health": lab(f"{prefix}-health"),
                       "fires_startup": lab(f"{prefix}-startup"),
                       "healthy_uvicorn": healthy, "healthy_gunicorn": healthy_gunicorn,
                       f"healthy_{other.replace('-', '_')}": lab(f"{other}-health")}
    out["oom-killed"] = {"fires_lab": lab("oom-killed"), "healthy_uvicorn": healthy,
                         "healthy_stopped": stopped}
    out["disk-full"] = {"fires_lab": lab("disk-full"), "healthy_uvicorn": healthy,
                        "healthy_permission_write": lab("permission-write")}
    out["unmanaged-server-gone"] = {"fires_lab": lab("hand-started-died"),
                                    "healthy_uvicorn": healthy, "healthy_stopped": stopped,
                                    "healthy_disabled": lab("service-disabled"),
                                    # the app runs under its unit, only on another port
                                    "healthy_app_elsewhere": lab("upstream-mismatch")}
    out["firewall-blocks-port"] = {
        "fires_nft": lab("firewall-drop"),
        "fires_iptables": with_iptables(healthy, IPTABLES_DROP_80),
        "fires_policy_drop": with_iptables(healthy, IPTABLES_POLICY_DROP),
        "healthy_uvicorn": healthy, "healthy_policy_drop_80_allowed":
        with_iptables(healthy, IPTABLES_POLICY_DROP.replace(
            "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n",
            "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"
            "-A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT\n"))}
    out["selinux-denied"] = {
        "fires_tcp_audit_log": with_avc(healthy, AVC_TCP, journal=False),
        "fires_socket_journal": with_avc(healthy_gunicorn, AVC_SOCKET, journal=True),
        "healthy_uvicorn": healthy,
        "healthy_permissive": with_avc(healthy, AVC_TCP.replace("permissive=0", "permissive=1"),
                                       journal=False, enforcing=False)}
    return out


# iptables-save output (iptables v1.8.9, nf_tables) in the shapes people write.
IPTABLES_DROP_80 = """# Generated by iptables-save v1.8.9 (nf_tables) on Mon Nov 23 20:50:00 2026
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -j DROP
COMMIT
# Completed on Mon Nov 23 20:50:00 2026
"""
IPTABLES_POLICY_DROP = """# Generated by iptables-save v1.8.9 (nf_tables) on Mon Nov 23 20:50 2026
*filter
:INPUT DROP [12:720]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [40:2400]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
# Completed on Mon Nov 23 20:50:00 2026
"""
# AVC records in the kernel's format (signatures.md section 9; security/selinux/avc.c).
AVC_TCP = ("type=AVC msg=audit(1795467000.114:412): avc:  denied  { name_connect } for  "
           "pid=236 comm=\"nginx\" dest=8000 scontext=system_u:system_r:httpd_t:s0 "
           "tcontext=system_u:object_r:soundd_port_t:s0 tclass=tcp_socket permissive=0")
AVC_SOCKET = ("audit: type=1400 audit(1795467000.114:413): avc:  denied  { connectto } for  "
              "pid=236 comm=\"nginx\" path=\"/run/fastapi/gunicorn.sock\" "
              "scontext=system_u:system_r:httpd_t:s0 "
              "tcontext=system_u:system_r:unconfined_service_t:s0 tclass=unix_stream_socket "
              "permissive=0")


def with_iptables(ev: dict[str, Any], text: str) -> dict[str, Any]:
    """A lab recording with `iptables-save` output in place of the lab's empty ruleset."""
    ev = copy.deepcopy(ev)
    ev["items"]["firewall.iptables"] = dict(
        ev["items"]["firewall.nft"], source="firewall.iptables",
        argv=["/usr/sbin/iptables-save"], stdout=text, stderr="")
    return ev


def with_avc(ev: dict[str, Any], line: str, *, journal: bool,
             enforcing: bool = True) -> dict[str, Any]:
    """A lab recording as SELinux would leave it: selinuxfs present, one AVC record logged."""
    ev = copy.deepcopy(ev)
    ev["items"]["security.selinux"]["data"] = {"present": True, "enforce": enforcing}
    base = ev["items"]["firewall.nft"]
    if journal:
        rec = {"MESSAGE": line, "PRIORITY": "5", "SYSLOG_IDENTIFIER": "kernel",
               "__REALTIME_TIMESTAMP": "1795467000114000", "_TRANSPORT": "kernel"}
        ev["items"]["security.avc"] = dict(
            base, source="security.avc", stdout=json.dumps(rec) + "\n", stderr="",
            argv=["journalctl", "-o", "json", "--no-pager", "-n", "100", "--since", "-24h",
                  "--grep", "avc: +denied"])
    else:
        path = "/var/log/audit/audit.log"
        ev["items"][f"security.audit_log:{path}"] = dict(
            base, source=f"security.audit_log:{path}", kind="file", argv=None, path=path,
            rc=None, stdout=line + "\n", stderr=None, offset=0, size=len(line) + 1)
    return ev


if __name__ == "__main__":
    main()
