"""proxy_pass (or an upstream's server, or uwsgi_pass) points where nothing listens while the
app listens elsewhere: point it where the app listens, test, reload."""

from __future__ import annotations

from ...facts import Facts
from ...findings import Finding
from ...i18n import N_, _
from ..edits import retarget
from ..host import Host
from ..steps import Command, Manual, Step
from . import remedy


@remedy("upstream-mismatch", "upstream-address-family",
        verify=N_("nginx reaches the app where it listens, and the URL answers"))
def point_at_app(cause: Finding, facts: Facts, host: Host) -> list[Step]:
    """Each block that sends requests to the dead address names the live one instead."""
    old, new = str(cause.values.get("target_address", "")), str(cause.values.get("new_address",
                                                                                 ""))
    config = facts.nginx_config
    if not old or not new or config is None:
        return []
    if host.nginx_elsewhere:
        return [Manual(_("nginx runs in a container: change {old} to {new} in its "
                         "configuration (image or volume), then reload it").format(old=old,
                                                                                  new=new))]
    uses = config.targets().get(old, (None, []))[1]
    places = []
    for _server, loc in uses:
        group = next((g for g in config.upstreams if g.name == loc.upstream_group), None)
        places.append((group.file, group.line) if group else (loc.file, loc.line))
    changes = retarget(host, sorted(set(places)), old, new,
                       _("nothing listens at {old}; the app listens at {new}").format(
                           old=old, new=new))
    if not changes:
        return []
    return [*changes, Command(host.nginx["nginx_test"], _("nginx must accept the change")),
            Command(host.nginx["nginx_reload"], _("load it into the running nginx"),
                    undo=host.nginx["nginx_reload"])]
