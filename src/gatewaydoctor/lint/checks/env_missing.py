"""EnvironmentFile= names a file that is not there, without the `-` that makes it
optional: systemd refuses to start the unit ("Failed to load environment files")."""

from __future__ import annotations

import os
from collections.abc import Iterator

from ...findings import Severity
from ...i18n import N_
from ..model import Hit, Inputs, hit
from ..registry import check


@check(id="GD-CFG-001", symbol="env-missing", category="config.env_missing",
       severity=Severity.ERROR,
       message=N_("EnvironmentFile={path} does not exist on this host and is not optional "
                  "(no `-` prefix): systemd refuses to start the unit (\"Failed to load "
                  "environment files\")."))
def env_missing(inputs: Inputs) -> Iterator[Hit]:
    """Each mandatory, absolute EnvironmentFile= that is not a file here."""
    if inputs.offline:
        return
    for s in inputs.services:
        for env in s.all("EnvironmentFile") if s.manager == "systemd" else ():
            path = env.value.strip()
            if path.startswith("/") and not os.path.isfile(path):
                yield hit(env, path=path)
