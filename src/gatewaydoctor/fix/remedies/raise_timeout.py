"""nginx gave up on a slow answer (504): give that location a longer read timeout, test,
reload. The location's own setting changes; a wider one (server, http) is left as it is."""

from __future__ import annotations

import re

from ...facts import Facts, Location, NginxConfig
from ...findings import Finding
from ...i18n import N_, _
from ..edits import change_lines, indent_of
from ..host import Host
from ..steps import Command, FileChange, Step
from . import remedy

LONGER = "120s"  # gunicorn's default --timeout is 30 s; nginx's own default 60 s


@remedy("upstream-timeout", verify=N_("the slow path answers through nginx instead of 504"))
def raise_timeout(cause: Finding, facts: Facts, host: Host) -> list[Step]:
    """Set the timeout nginx applied (proxy_read_timeout, uwsgi_read_timeout...) in the
    location to LONGER."""
    loc, name = cause.values.get("at_location"), str(cause.values.get("directive", ""))
    if not isinstance(loc, Location) or not name or facts.nginx_config is None or \
            host.nginx_elsewhere:
        return []
    change = _set_in(host, facts.nginx_config, loc, name)
    if change is None:
        return []
    return [change, Command(host.nginx["nginx_test"], _("nginx must accept the change")),
            Command(host.nginx["nginx_reload"], _("load it into the running nginx"),
                    undo=host.nginx["nginx_reload"])]


def _set_in(host: Host, config: NginxConfig, loc: Location, name: str) -> FileChange | None:
    """The location's own `name` line rewritten, else a line added after `location ... {`."""
    why = _("the app needs longer than {name} lets it; {value} in {where}").format(
        name=name, value=LONGER, where=loc.where)
    own = [d for d in loc.directives if d.name == name]
    if own:
        return change_lines(host, own[-1].file, why, [(own[-1].line, lambda line: re.sub(
            rf"\b{name}\s+[^;]+;", f"{name} {LONGER};", line, count=1))])

    def add(line: str) -> str:
        if not line.split("#", 1)[0].rstrip().endswith("{"):
            return line  # the block opens on another line: not guessed
        return f"{line}\n{indent_of(line)}    {name} {LONGER};"

    return change_lines(host, loc.file, why, [(loc.line, add)])
