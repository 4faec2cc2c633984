"""nginx runs an older configuration than the one on disk: test it, then reload."""

from __future__ import annotations

from ...facts import Facts
from ...findings import Finding
from ...i18n import N_, _
from ..host import Host
from ..steps import Command, Step
from . import remedy


@remedy("not-reloaded", verify=N_("the running nginx uses the configuration on disk"))
def reload_nginx(_cause: Finding, _facts: Facts, host: Host) -> list[Step]:
    """`nginx -t`, and only if it passes, nginx's reload (as this host runs nginx)."""
    return [Command(host.nginx["nginx_test"], _("the configuration on disk must pass first")),
            Command(host.nginx["nginx_reload"], _("load it into the running nginx"))]
