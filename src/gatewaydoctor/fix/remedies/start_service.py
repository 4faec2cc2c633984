"""A stopped service is started with its own manager (and enabled, if systemd would not start
it at boot); a server started by hand is started again as it was, where its command is known."""

from __future__ import annotations

from ...facts import Facts, Service
from ...findings import Finding
from ...i18n import N_, _
from ..host import Host
from ..steps import Command, Manual, Step, as_root
from . import remedy


@remedy("service-not-running", "supervisor-program-down", "pm2-app-down",
        "unmanaged-server-gone",
        verify=N_("the service is running again, and nginx reaches it"))
def start_service(cause: Finding, facts: Facts, _host: Host) -> list[Step]:
    """Start it with its manager: systemctl, supervisorctl, pm2, or its command line."""
    units = [u for link in cause.links if link.kind == "unit"
             if (u := facts.unit(link.value)) is not None]
    if not units:
        return []
    return start_steps(units[0])


def start_steps(s: Service) -> list[Step]:
    """The commands that start s with its own manager, each with what takes it back."""
    why = _("{name} is {state}: start it").format(name=s.name, state=s.active_state or "down")
    if s.manager == "systemd":
        steps: list[Step] = []
        if s.unit_file_state == "disabled":
            steps.append(Command(f"systemctl enable {s.name}",
                                 _("it is not enabled: it would stay down after a reboot"),
                                 undo=f"systemctl disable {s.name}"))
        if s.active_state == "failed":
            steps.append(Command(f"systemctl reset-failed {s.name}",
                                 _("clear its failed state and restart counter")))
        return [*steps, Command(f"systemctl start {s.name}", why, undo=f"systemctl stop {s.name}")]
    if s.manager == "supervisor":
        return [Command(f"supervisorctl start {s.program}", why,
                        undo=f"supervisorctl stop {s.program}")]
    if s.manager == "pm2":
        return [Command(as_root(f"{s.control}pm2 restart {s.program}"), why,
                        undo=as_root(f"{s.control}pm2 stop {s.program}"))]
    if s.manager == "container":
        return [Command(f"{s.control} start {s.program}", why,
                        undo=f"{s.control} stop {s.program}")]
    if s.exec_start:
        return [Command(as_root(s.start_by_hand), why + _(" (it was started by hand; a unit would "
                                                  "restart it: `gatewaydoctor generate unit`)"))]
    return [Manual(_("{name} was started by hand and is gone; its command line is not known: "
                     "start it again as it was started, better under a manager "
                     "(`gatewaydoctor generate unit`)").format(name=s.name))]
