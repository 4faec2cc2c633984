"""The app's local database server is stopped: start the units of it that are stopped, then
restart the app as its rule says (a pool or a start-up check holds the failure until then).

Only a server on this host, named by the app's own DSN, whose systemd units the agent saw
stopped: a remote database, one in a container, or one that runs and refuses for another
reason (listen_addresses, a firewall) stays the person's. Debian's `postgresql.service` is a
wrapper that stays "active (exited)" while its `postgresql@VER-main` instance is stopped:
starting the wrapper would do nothing there, so what is started is each unit that is
actually stopped.
"""

from __future__ import annotations

from ...facts import Facts
from ...findings import Finding
from ...i18n import N_, _
from ..host import Host
from ..steps import Command, Step, as_root
from . import remedy


@remedy("database-unreachable", verify=N_("the database accepts connections and the app "
                                          "answers through nginx"))
def start_database(cause: Finding, facts: Facts, _host: Host) -> list[Step]:
    """`systemctl start` the stopped units (reset-failed first for a failed one), then the
    app's restart."""
    app = str(cause.values.get("unit", ""))
    stopped = [u for u in facts.database_units or () if u.app == app and u.stopped]
    if not stopped:
        return []
    names = " ".join(u.name for u in stopped)
    steps: list[Step] = []
    failed = [u.name for u in stopped if u.active_state == "failed"]
    if failed:
        steps.append(Command(f"systemctl reset-failed {' '.join(failed)}",
                             _("clear the failed state of {names}").format(
                                 names=", ".join(failed))))
    steps.append(Command(f"systemctl start {names}", _(
        "{names}: the database server {app} connects to is stopped").format(
            names=", ".join(u.name for u in stopped), app=app), undo=f"systemctl stop {names}"))
    restart = cause.values.get("restart")
    service = facts.unit(app)
    # a server started by hand has no manager to restart it: it reconnects or is restarted
    # by hand (its own plan step says how)
    if isinstance(restart, str) and restart and (service is None or
                                                 service.manager != "process"):
        steps.append(Command(as_root(restart), _("{app} connects again (its start-up check "
                                                 "or its pool held the failure)").format(
                                                     app=app)))
    return steps
