"""WorkingDirectory= (supervisor: directory=) names a folder that is not there: systemd
fails the start with status=200/CHDIR (unless the path is prefixed with `-`), supervisor
with a spawn error."""

from __future__ import annotations

import os
from collections.abc import Iterator

from ...findings import Severity
from ...i18n import N_
from ..model import Hit, Inputs, hit
from ..registry import check


@check(id="GD-SVC-005", symbol="workdir-missing", category="service.workdir_missing",
       severity=Severity.ERROR,
       message=N_("{key}={path} does not exist on this host: the service fails to start "
                  "(systemd: status=200/CHDIR)."))
def workdir_missing(inputs: Inputs) -> Iterator[Hit]:
    """An absolute working directory, not optional (`-`), that is not a directory here."""
    if inputs.offline:
        return
    for s in inputs.services:
        workdir = s.get("workdir")
        if workdir is None or workdir.value.startswith("-"):
            continue
        path = workdir.value
        if path.startswith("/") and not os.path.isdir(path):
            yield hit(workdir, key=workdir.key, path=path)
