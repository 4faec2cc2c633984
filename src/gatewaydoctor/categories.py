"""The category vocabulary (DESIGN.md). Add new categories; never rename one."""

from __future__ import annotations

CATEGORIES: dict[str, str] = {
    "service.not_running": "unit inactive/failed/not enabled, no process",
    "service.crash_loop": "restarting again and again (name the underlying cause too)",
    "service.start_limit_hit": "systemd gave up: start request repeated too quickly",
    "service.exec_missing": "ExecStart binary/venv missing (status=203/EXEC)",
    "service.workdir_missing": "WorkingDirectory missing (status=200/CHDIR)",
    "service.unit_changed": "unit file changed on disk, `daemon-reload` pending",
    "app.relative_import": "relative import with no known parent package",
    "app.missing_dependency": "ModuleNotFoundError for a third-party package",
    "app.wrong_target": "uvicorn/gunicorn cannot import the module or find the app attribute",
    "app.startup_failed": "the app raised during startup/lifespan",
    "app.python_version": "code needs a newer (or other) Python than the unit runs",
    "config.env_missing": "`.env`/EnvironmentFile missing or a required variable unset",
    "database.unreachable": "database host/port refuses or times out",
    "database.auth_failed": "credentials rejected",
    "database.not_found": "database does not exist",
    "port.conflict": "the port the service wants is held by another process",
    "permission.denied": "the service user cannot read code / write files",
    "permission.socket": "nginx cannot connect to a unix socket (13: Permission denied)",
    "nginx.config_invalid": "`nginx -t` fails",
    "nginx.not_reloaded": "running nginx differs from the configuration on disk",
    "nginx.upstream_mismatch":
        "proxy_pass points where nothing listens (while the app listens elsewhere)",
    "nginx.upstream_address_family":
        "`localhost` resolves to ::1 but the app listens on 127.0.0.1 only (or vice versa)",
    "nginx.rate_limited": "limit_req / limit_conn rejecting (503 by default)",
    "nginx.header_too_big": "upstream sent too big header",
    "upstream.timeout": "upstream too slow (504), incl. gunicorn WORKER TIMEOUT",
    "network.firewall": "packet filter blocks the port",
    "security.selinux": "SELinux denies nginx the connection",
    "system.oom_killed": "the kernel OOM killer ended the app",
    "system.disk_full": "no space left where the app or nginx writes",
    "system.fd_exhausted": "too many open files / worker_connections not enough",
    # Added by gatewaydoctor (not in the first DESIGN.md table).
    "upstream.unreachable":
        "nothing listens where proxy_pass points (a symptom; the cause is why the app is down)",
    "probe.failed": "a probe from the host failed and no more specific rule explains it",
    "network.namespace":
        "nginx and the app are in different network namespaces (containers): loopback does "
        "not reach across",
}

# What a cause that keeps the service from staying up explains (nearly every cause rule).
LOOP_SYMPTOMS = ("service.crash_loop", "service.start_limit_hit", "service.not_running")
