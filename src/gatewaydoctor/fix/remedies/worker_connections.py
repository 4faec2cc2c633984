"""nginx's worker_connections are used up (500 `worker_connections are not enough`): raise
them to nginx's usual 1024 (twice the number if that is already more), test, reload. A
reload starts workers with the new events settings. The open-file limit (`24: Too many open
files`) is a limit of the unit or the system: that one stays the person's (the rule says
how)."""

from __future__ import annotations

import re

from ...facts import Facts, NginxDirective
from ...findings import Finding
from ...i18n import N_, _
from ..edits import change_lines
from ..host import Host
from ..steps import Command, Step
from . import remedy

USUAL = 1024  # the value nginx's own sample configuration and most distributions ship


@remedy("worker-connections", verify=N_("nginx answers the URL without running out of "
                                        "connections"))
def more_connections(cause: Finding, _facts: Facts, host: Host) -> list[Step]:
    """`worker_connections N;` becomes `worker_connections max(1024, 2N);`."""
    wc = cause.values.get("at_directive")
    if not isinstance(wc, NginxDirective) or not wc.args or not wc.args[0].isdigit() or \
            host.nginx_elsewhere:
        return []
    now = int(wc.args[0])
    new = max(USUAL, 2 * now)
    change = change_lines(host, wc.file, _(
        "{n} connections per worker are not enough for the listening sockets, the clients and "
        "one upstream connection per proxied request; {new} in {where}").format(
            n=now, new=new, where=wc.where), [(wc.line, lambda line: re.sub(
                r"\bworker_connections\s+\d+\s*;", f"worker_connections {new};", line,
                count=1))])
    if change is None:
        return []
    return [change, Command(host.nginx["nginx_test"], _("nginx must accept the change")),
            Command(host.nginx["nginx_reload"], _("start workers with the new limit"),
                    undo=host.nginx["nginx_reload"])]
