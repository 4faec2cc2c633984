"""Bundles recorded from lab scenarios, shipped so anyone can see a full diagnosis offline.

Each example is a real bundle (`<name>.tar.gz`) written by gatewaydoctor's own bundle
writer and redactor from a lab recording (`cd lab && python3 -m gdlab examples`).
"""

from __future__ import annotations

import json
from pathlib import Path

from .. import packaged
from ..errors import GatewayDoctorError
from ..i18n import _

HERE = Path(__file__).parent


class UnknownExample(GatewayDoctorError):
    """The example named does not exist."""


def available() -> dict[str, str]:
    """Example names with a one-line description of the fault they hold."""
    index = json.loads(packaged.read_bytes(HERE / "index.json").decode("utf-8"))
    return {name: str(description) for name, description in sorted(index.items())}


def path_of(name: str) -> Path:
    """The bundle of an example; UnknownExample names the choices."""
    names = available()
    if name not in names:
        raise UnknownExample(
            _("no example called {name}; choose one of: {names} (or {command})").format(
                name=repr(name), names=", ".join(names), command="`--example list`")
        )
    return HERE / f"{name}.tar.gz"
