"""The host's own files, found from what runs (the agent's scanners, never a default path):
the systemd units that run a Python web server or nginx (with their drop-ins), the
supervisor programs of the supervisord that runs (or would), and the configuration of every
running nginx master as `nginx -T` reads it (with none running, the nginx a unit would start).
Also what listens now, so a proxy_pass is judged against the host as well as the files.
Nothing here changes the host; the app is never run.
"""

from __future__ import annotations

import os
from typing import Any

from ..agent import nginxscan, procfs, sockdiag, unitscan
from ..agent import supervisor as supervisord
from ..agent.runner import run
from ..evidence import Item
from ..facts import Endpoint, NginxConfig, NginxTest
from ..formats import execspec, sources
from ..formats.systemd import exec_argvs
from ..parse.nginx_config import read_config, read_test
from . import read
from .model import NginxError, ServiceFile

MAX_MASTERS = 8


def services(processes: list[dict[str, Any]]) -> list[ServiceFile]:
    """The units and programs that run a Python web server, and nginx's units."""
    found = []
    if os.path.isdir("/run/systemd/system"):
        units = (unitscan.scan(sources.UNIT_SCAN).get("data") or {}).get("units", [])
        found += [_unit(u) for u in units if not u.get("masked") and _wanted(u)]
    return found + _programs(processes)


def _wanted(u: dict[str, Any]) -> bool:
    argvs = [a for line in u.get("exec_start", []) for a in exec_argvs(line)]
    return any(execspec.server_of(a) not in (None, "python") or
               os.path.basename(a[0]) in ("nginx", "openresty") for a in argvs if a)


def _unit(u: dict[str, Any]) -> ServiceFile:
    """A unit file with its drop-ins, in the order systemd applies them."""
    path, name = str(u["path"]), str(u["name"])
    dropins = []
    for directory in reversed(unitscan.UNIT_DIRS):
        folder = os.path.join(directory, name + ".d")
        if os.path.isdir(folder):
            dropins += [(os.path.join(folder, f), read.read_text(os.path.join(folder, f)))
                        for f in sorted(os.listdir(folder)) if f.endswith(".conf")]
    return read.with_ini(read.unit(path, read.read_text(path), dropins, name), False)


def _programs(processes: list[dict[str, Any]]) -> list[ServiceFile]:
    if not supervisord.present(processes):
        return []
    config, _running = supervisord.supervisord_config(processes)
    if config is None:
        return []
    item, _props = supervisord.read_config(sources.SUPERVISOR_CONFIG, config)
    files = (item.get("data") or {}).get("files", [])
    return [read.with_ini(p, False) for f in files for p in read.programs(f, read.read_text(f))
            if p.server is not None]


def nginx(processes: list[dict[str, Any]], sockets: list[dict[str, Any]], mntns: str | None,
          netns: str | None) -> tuple[list[NginxConfig], list[NginxError]]:
    """Each master's configuration (`nginx -T`); where -T fails, nginx's own errors and the
    files read from its main configuration."""
    units = (unitscan.scan(sources.UNIT_SCAN).get("data") or {}).get("units", [])
    masters = nginxscan.masters_from(processes, sockets, mntns, netns) or \
        nginxscan.would_start(units)
    configs: list[NginxConfig] = []
    errors: list[NginxError] = []
    for master in [m for m in masters if m.get("path")][:MAX_MASTERS]:
        config, rejected = _master(master, masters)
        configs += [config] if config is not None else []
        errors += rejected
    return configs, errors


def _master(master: dict[str, Any], masters: list[dict[str, Any]]
            ) -> tuple[NginxConfig | None, list[NginxError]]:
    """One master's configuration as `nginx -T` dumps it; else its errors and its files."""
    item = Item.from_dict(nginxscan.dump(sources.NGINX_DUMP, masters, master))
    if item.rc == 0 and item.stdout:
        return read_config(item.stdout, f"read from {item.label()}"), []
    errors = _rejected(read_test(item))
    version = run(sources.NGINX_VERSION, [*nginxscan.command(master), "-V"])
    main = nginxscan.conf_path(str(version.get("stderr") or ""), master)
    text = nginxscan.read_config_files(main)
    return (read_config(text, f"read from {main} and its includes") if text else None), errors


def _rejected(test: NginxTest) -> list[NginxError]:
    """nginx's errors in the configuration (file:line) when its test failed."""
    return [NginxError(m.file, m.line or 1, m.text) for m in test.messages
            if not test.ok and m.file and m.level in ("emerg", "alert", "crit")
            and not _not_ours(m.text)]


def _not_ours(text: str) -> bool:
    """An error of the user lint runs as, not of the configuration: a key or log file only
    root may open (nginx itself starts as root)."""
    return os.geteuid() != 0 and "Permission denied" in text


def listening(sockets: list[dict[str, Any]]) -> list[Endpoint]:
    """What listens on this host now: TCP sockets and unix stream sockets."""
    out = [Endpoint(host=str(s["host"]), port=int(s["port"])) for s in sockets]
    try:
        with open("/proc/net/unix", encoding="utf-8", errors="replace") as fh:
            table = fh.read(4 << 20)
    except OSError:
        return out
    for line in table.splitlines()[1:]:
        cols = line.split()
        # Flags 00010000 is __SO_ACCEPTCON: a listening socket; the path is the 8th column.
        if len(cols) >= 8 and cols[3] == "00010000" and cols[7].startswith("/"):
            out.append(Endpoint(path=cols[7]))
    return out


def gather() -> tuple[list[ServiceFile], list[NginxConfig], list[NginxError], list[Endpoint]]:
    """Everything lint reads on this host."""
    table = procfs.processes().get("data") or {}
    processes = table.get("processes", [])
    sockets = (sockdiag.tcp_listeners().get("data") or {}).get("sockets", [])
    configs, errors = nginx(processes, sockets, table.get("mntns"), table.get("netns"))
    return services(processes), configs, errors, listening(sockets)
