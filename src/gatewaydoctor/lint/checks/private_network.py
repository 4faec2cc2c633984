"""nginx's unit has PrivateNetwork=yes (a hardening guide's advice): systemd gives it a
network namespace with a loopback of its own, so a proxy_pass to 127.0.0.1 (or ::1) reaches
nothing there; unix sockets still work (they are files)."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import Endpoint
from ...findings import Severity
from ...i18n import N_
from ..model import Hit, Inputs, ServiceFile, Setting, hit
from ..registry import check
from ..view import passes

_YES = ("yes", "true", "1", "on")


@check(id="GD-NET-002", symbol="netns-loopback", category="network.namespace",
       severity=Severity.ERROR,
       message=N_("{name} runs nginx with PrivateNetwork={value}: nginx gets a loopback of "
                  "its own, so {directive} {target} (at {at}) reaches nothing. Remove "
                  "PrivateNetwork= from nginx's unit, or have the app listen on a unix "
                  "socket."))
def private_network(inputs: Inputs) -> Iterator[Hit]:
    """nginx units with a private network, and a loopback TCP target in the configuration."""
    loopback = [p for p in passes(inputs) if any(_loopback_tcp(e) for e in p.endpoints)]
    for s in inputs.services:
        setting = _private(s)
        if setting is not None and loopback:
            p = loopback[0]
            yield hit(setting, name=s.name, value=setting.value, directive=p.directive,
                      target=p.target, at=f"{p.file}:{p.line}")


def _loopback_tcp(e: Endpoint) -> bool:
    """A TCP address on this host's loopback (a wildcard is not one: it is any address)."""
    return e.path is None and e.host not in (None, "*", "0.0.0.0", "::") and e.on_this_host


def _private(s: ServiceFile) -> Setting | None:
    """nginx's unit's PrivateNetwork= when it is on."""
    setting = s.last("PrivateNetwork") if s.manager == "systemd" and s.runs_nginx else None
    return setting if setting is not None and setting.value.lower() in _YES else None
