"""The app runs as root: a unit without User= (systemd runs system services as root), or
User=root; a supervisor program without user= under a root supervisord. A bug or a
dependency's exploit in the app then owns the host, and files it writes (logs, sockets,
caches) become root's, which breaks the next start under a proper user."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Severity
from ...i18n import N_
from ...rules.spec import msg
from ..model import Hit, Inputs, ServiceFile, hit
from ..registry import check

ROOT = ("root", "0")
_YES = ("yes", "true", "1", "on")


def _root(s: ServiceFile) -> tuple[str, int] | None:
    """Where the service is made to run as root (its User= line, or its section header)."""
    if s.manager == "systemd":
        dynamic = s.last("DynamicUser")
        if dynamic is not None and dynamic.value.lower() in _YES:
            return None
    user = s.get("user")
    if user is None:
        return s.file, s.line
    return (user.file, user.line) if user.value.strip() in ROOT else None


@check(id="GD-LNT-002", symbol="runs-as-root", category="service.runs_as_root",
       severity=Severity.WARNING,
       title=N_("The app's unit or program runs it as root"),
       message=N_("{name} runs {server} as root ({why}): give it a user of its own (User= in "
                  "a unit, user= in a supervisor program) that owns only what the app writes."))
def runs_as_root(inputs: Inputs) -> Iterator[Hit]:
    """Web-server units and programs with no user, or root."""
    for s in inputs.services:
        if s.server is None:
            continue
        where = _root(s)
        if where is None:
            continue
        key = "User=" if s.manager == "systemd" else "user="
        why = f"{key}root" if s.get("user") is not None else msg(N_("no {key}"), key=key)
        yield hit(where, name=s.name, server=s.server, why=why)
