"""A unit file changed on disk without `daemon-reload`: reload systemd, restart the unit."""

from __future__ import annotations

from ...facts import Facts
from ...findings import Finding
from ...i18n import N_, _
from ..host import Host
from ..steps import Command, Step
from . import remedy, systemd_units_of


@remedy("unit-changed", verify=N_("systemd runs the unit as its file says, and nginx reaches it"))
def daemon_reload(cause: Finding, facts: Facts, _host: Host) -> list[Step]:
    """`systemctl daemon-reload`, then restart the unit so that it runs as written."""
    names = systemd_units_of(cause, facts)
    if not names:
        return []
    return [Command("systemctl daemon-reload",
                    _("systemd still holds the unit as it was before the file changed")),
            Command(f"systemctl restart {names[0]}", _("run it as its file now says"))]
