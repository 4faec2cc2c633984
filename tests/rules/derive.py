"""Derive the per-rule fixtures from the lab recordings in tests/data/lab/.

Run from the repository root: `python tests/rules/derive.py`. Most fixtures are a
lab recording as is (process list trimmed to the processes that matter); a few
are a recording with one item changed, said below. The `nginx -t` failure text
is real output of nginx 1.22.1 (Debian) on a config with `proxy_pas`.
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
NGINX_T_FAILED = (
    '2026/11/23 20:32:56 [emerg] 20773#20773: unknown directive "proxy_pas" in '
    "/etc/nginx/sites-enabled/fastapi:10\n"
    "nginx: configuration file /etc/nginx/nginx.conf test failed\n"
)


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


def invalid_config(ev: dict[str, Any]) -> dict[str, Any]:
    ev = copy.deepcopy(ev)
    ev["items"]["nginx.test"].update(rc=1, stderr=NGINX_T_FAILED)
    return ev


def proxy_elsewhere(ev: dict[str, Any]) -> dict[str, Any]:
    """nginx proxies to :8001 while uvicorn keeps listening on :8000."""
    ev = copy.deepcopy(ev)
    dump = ev["items"]["nginx.dump"]
    dump["stdout"] = dump["stdout"].replace("http://127.0.0.1:8000", "http://127.0.0.1:8001")
    return ev


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
                                "healthy_crash_loop": looping},
        "upstream-not-listening": {"fires_stopped": stopped, "healthy_uvicorn": healthy,
                                   "healthy_gunicorn_socket": healthy_gunicorn},
        "upstream-mismatch": {"fires_port": proxy_elsewhere(healthy), "healthy_uvicorn": healthy,
                              "healthy_app_down": stopped},
        "config-invalid": {"fires_unknown_directive": invalid_config(healthy),
                           "healthy_uvicorn": healthy},
        "nginx-not-running": {"fires_no_master": without_nginx(healthy),
                              "healthy_uvicorn": healthy},
        "probe-failed": {"fires_502": stopped, "healthy_uvicorn": healthy},
    }
    fixtures.update(system_fixtures(healthy, healthy_gunicorn, stopped))
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
    return out


if __name__ == "__main__":
    main()
