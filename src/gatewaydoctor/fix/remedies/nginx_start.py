"""nginx is configured but not running: test its configuration, then start it."""

from __future__ import annotations

from ...facts import Facts
from ...findings import Finding
from ...i18n import N_, _
from ..host import Host
from ..steps import Command, Step
from . import remedy


@remedy("nginx-not-running", verify=N_("nginx runs and answers the URL"))
def start_nginx(_cause: Finding, _facts: Facts, host: Host) -> list[Step]:
    """`nginx -t`, and only if it passes, start nginx as this host starts it."""
    return [Command(host.nginx["nginx_test"], _("a configuration nginx rejects would not "
                                                "start either")),
            Command(host.nginx["nginx_start"], _("start nginx"))]
