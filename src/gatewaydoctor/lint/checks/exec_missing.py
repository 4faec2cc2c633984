"""The program a unit or program starts is not there (a venv moved, deleted or never
made): systemd fails the start with status=203/EXEC, supervisor with a spawn error."""

from __future__ import annotations

import os
from collections.abc import Iterator

from ...findings import Severity
from ...i18n import N_
from ..model import Hit, Inputs, ServiceFile, hit
from ..registry import check

# systemd.service(5), "Command lines": a program named without a path is looked up here.
SEARCH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin")


@check(id="GD-SVC-004", symbol="exec-missing", category="service.exec_missing",
       severity=Severity.ERROR,
       message=(N_("{key} starts {program}, which does not exist or is not executable on this "
                   "host: the service fails to start (systemd: status=203/EXEC)."),
                N_("Its virtual environment {venv} is missing."),
                N_("systemd looks a program named without a path up in {search} only, not in "
                   "the app's virtual environment: write the absolute path.")))
def exec_missing(inputs: Inputs) -> Iterator[Hit]:
    """An absolute program path that is not an executable file, or a bare name systemd will
    not find on its fixed search path (host files only)."""
    if inputs.offline:
        return
    for s in inputs.services:
        cmd, program = s.get("command"), _judged(s)
        if cmd is None or program is None or _there(program):
            continue
        bin_dir = os.path.dirname(program)
        venv = os.path.dirname(bin_dir) if os.path.basename(bin_dir) == "bin" else None
        yield hit(cmd, key=cmd.key, program=program,
                  venv=venv if venv and not os.path.isdir(venv) else None,
                  search=":".join(SEARCH) if "/" not in program else None)


def _judged(s: ServiceFile) -> str | None:
    """The program to look for: an absolute path, or (systemd) a bare name. A relative path
    is relative-path's; supervisor searches supervisord's own PATH, which lint does not know."""
    program = s.argv[0] if s.argv else None
    if program is None or "/" in program and not program.startswith("/"):
        return None
    return program if "/" in program or s.manager == "systemd" else None


def _there(program: str) -> bool:
    candidates = [program] if "/" in program else [os.path.join(d, program) for d in SEARCH]
    return any(os.path.isfile(c) and os.access(c, os.X_OK) for c in candidates)
