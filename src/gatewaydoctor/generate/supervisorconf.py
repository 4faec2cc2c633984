"""Where a supervisor program goes: the folder supervisord's `[include] files=` names, in the
configuration the running supervisord was started with (else the usual places), and where
its logs go."""

from __future__ import annotations

import configparser
import fnmatch
import os
from dataclasses import dataclass

from ..agent import procfs, supervisor
from ..errors import GatewayDoctorError
from ..i18n import _


@dataclass(frozen=True)
class Supervisord:
    """supervisord's configuration file, the include pattern and the log folder."""

    conf: str
    pattern: str
    log_dir: str
    running: bool

    def path_for(self, name: str) -> str:
        folder = os.path.dirname(self.pattern)
        suffix = os.path.basename(self.pattern)
        ext = suffix[suffix.rfind("*") + 1:] if "*" in suffix else ".conf"
        return os.path.join(folder, f"{name}{ext or '.conf'}")

    def loads(self, path: str) -> bool:
        return any(fnmatch.fnmatch(path, p) for p in self.pattern.split())


def find() -> Supervisord:
    """The supervisord configuration and the folder of programs it includes."""
    processes = (procfs.processes().get("data") or {}).get("processes", [])
    conf, running = supervisor.supervisord_config(processes)
    if conf is None:
        raise GatewayDoctorError(_("no supervisord configuration found (none runs, none in "
                                   "{paths}): install supervisor or write the program with "
                                   "--output FILE").format(
            paths=", ".join(supervisor.CONFIG_PATHS)))
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False,
                                          interpolation=None)
    try:
        parser.read(conf, encoding="utf-8")
    except configparser.Error as exc:
        raise GatewayDoctorError(_("cannot read {conf}: {error}").format(
            conf=conf, error=exc)) from None
    here = os.path.dirname(conf)
    files = parser.get("include", "files", fallback="").split()
    patterns = [p.replace("%(here)s", here) for p in files]
    patterns = [p if p.startswith("/") else os.path.join(here, p) for p in patterns]
    pattern = next((p for p in patterns if os.path.isdir(os.path.dirname(p))), None)
    if pattern is None:
        raise GatewayDoctorError(_("{conf} has no [include] files= folder for programs: add "
                                   "one, or write the program with --output FILE").format(
            conf=conf))
    logfile = parser.get("supervisord", "logfile", fallback="").replace("%(here)s", here)
    log_dir = os.path.dirname(logfile) if logfile.startswith("/") else "/var/log/supervisor"
    return Supervisord(conf, pattern, log_dir, running)
