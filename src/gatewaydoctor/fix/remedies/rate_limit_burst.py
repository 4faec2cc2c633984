"""nginx's limit_req rejects a path (503) the app never saw: let that limit take a burst.

A limit_req without `burst=` rejects every request that comes sooner than the zone's rate
allows; a page such as /docs loads several resources at once (the page, then
/openapi.json), so even one person is refused. `burst=20 nodelay` (nginx's documented way to
absorb bursts) keeps the operator's limit — the zone, its rate and every other location stay
as they are — and only lets a page's requests through together. Dropping the limit, or
raising the zone's rate, would undo a decision someone made on purpose: that stays theirs.
"""

from __future__ import annotations

from ...facts import Facts, NginxDirective
from ...findings import Finding
from ...i18n import N_, _
from ..edits import change_lines
from ..host import Host
from ..steps import Command, Manual, Step
from . import remedy

BURST = "burst=20 nodelay"


@remedy("rate-limited", verify=N_("the rejected path answers through nginx instead of 503"))
def allow_burst(cause: Finding, _facts: Facts, host: Host) -> list[Step]:
    """`limit_req zone=z;` becomes `limit_req zone=z burst=20 nodelay;` where it is set."""
    use = cause.values.get("at_use")
    if not isinstance(use, NginxDirective) or use.name != "limit_req" or host.nginx_elsewhere:
        return []
    if any(a.startswith("burst=") for a in use.args):
        return [Manual(_("{where} already allows a burst: raise the zone's rate= (or burst=) "
                         "as the traffic you mean to allow needs, then test and reload "
                         "nginx").format(where=use.where),
                       (host.nginx["nginx_test"], host.nginx["nginx_reload"]))]
    written = f"limit_req {' '.join(use.args)}"

    def add_burst(line: str) -> str:
        return line.replace(f"{written};", f"{written} {BURST};", 1)

    change = change_lines(host, use.file, _(
        "{where} rejects every request sooner than the zone's rate, even a page's own; "
        "{burst} lets them through together and keeps the limit").format(
            where=use.where, burst=BURST), [(use.line, add_burst)])
    if change is None:
        return []
    return [change, Command(host.nginx["nginx_test"], _("nginx must accept the change")),
            Command(host.nginx["nginx_reload"], _("load it into the running nginx"),
                    undo=host.nginx["nginx_reload"])]
