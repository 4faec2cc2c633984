"""Another process holds the port the service must bind. Not stopped automatically: it may be
someone's (a debug server, another app, a second copy), and only a person knows whether it
may go. The plan names it — pid, command, unit, user — and how to stop it, then to restart
the service."""

from __future__ import annotations

from ...facts import Facts
from ...findings import Finding
from ...i18n import N_, _
from ..host import Host
from ..steps import Manual, Step
from . import remedy


@remedy("port-conflict", verify=N_("the service binds its port and nginx reaches it"))
def name_the_holder(cause: Finding, facts: Facts, _host: Host) -> list[Step]:
    """The holder named, how to stop it (its unit, else its pid) and to keep it stopped."""
    v = cause.values
    unit = facts.unit(str(v.get("unit", "")))
    if unit is None or not v.get("port"):
        return []
    holder, stop, holder_unit = str(v.get("holder", "")), str(v.get("stop", "")), \
        v.get("holder_unit")
    commands = [f"ss -ltnp 'sport = :{v['port']}'", stop,
                *([f"systemctl disable {holder_unit}"] if holder_unit else []),
                unit.restart_command]
    return [Manual(_("port {port} is held by {holder}, not by {unit}: if it may go, stop it "
                     "({stop}), keep it from coming back, then restart {unit}; else move one "
                     "of the two to another port").format(
                         port=v["port"], holder=holder, unit=unit.name, stop=stop),
                   tuple(commands))]
