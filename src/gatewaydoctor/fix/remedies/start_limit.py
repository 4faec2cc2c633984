"""systemd gave up on a unit (start-limit-hit): clear its failed state, then start it."""

from __future__ import annotations

from ...facts import Facts
from ...findings import Finding
from ...i18n import N_, _
from ..host import Host
from ..steps import Command, Step
from . import remedy, systemd_units_of


@remedy("start-limit-hit", verify=N_("the unit is active again and stays so"))
def reset_and_start(cause: Finding, facts: Facts, _host: Host) -> list[Step]:
    """`systemctl reset-failed`, then start."""
    names = systemd_units_of(cause, facts)
    if not names:
        return []
    unit = names[0]
    return [Command(f"systemctl reset-failed {unit}",
                    _("systemd refuses to start it until its start counter is reset")),
            Command(f"systemctl start {unit}", _("start it again"),
                    undo=f"systemctl stop {unit}")]
