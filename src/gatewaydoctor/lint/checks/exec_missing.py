"""The program a unit or program starts is not there (a venv moved, deleted or never
made): systemd fails the start with status=203/EXEC, supervisor with a spawn error."""

from __future__ import annotations

import os
from collections.abc import Iterator

from ...findings import Severity
from ...i18n import N_
from ..model import Hit, Inputs, hit
from ..registry import check


@check(id="GD-SVC-004", symbol="exec-missing", category="service.exec_missing",
       severity=Severity.ERROR,
       message=(N_("{key} starts {program}, which does not exist or is not executable on this "
                   "host: the service fails to start (systemd: status=203/EXEC)."),
                N_("Its virtual environment {venv} is missing.")))
def exec_missing(inputs: Inputs) -> Iterator[Hit]:
    """An absolute program path that is not an executable file (host files only)."""
    if inputs.offline:
        return
    for s in inputs.services:
        cmd, argv = s.get("command"), s.argv
        if cmd is None or not argv or not argv[0].startswith("/"):
            continue
        if os.path.isfile(argv[0]) and os.access(argv[0], os.X_OK):
            continue
        bin_dir = os.path.dirname(argv[0])
        venv = os.path.dirname(bin_dir) if os.path.basename(bin_dir) == "bin" else None
        yield hit(cmd, key=cmd.key, program=argv[0],
                  venv=venv if venv and not os.path.isdir(venv) else None)
