"""proxy_pass names `localhost`: nginx resolves it when it loads the configuration and
uses every address it gets (127.0.0.1 and ::1 where /etc/hosts says both), so an app that
binds one family only is refused on the other: errors and 502s depending on which address
a request tries first."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Severity
from ...i18n import N_
from ..model import Hit, Inputs, hit
from ..registry import check
from ..view import passes, serving

NAMES = ("localhost", "ip6-localhost")


@check(id="GD-NGX-006", symbol="upstream-address-family",
       category="nginx.upstream_address_family", severity=Severity.WARNING,
       message=(N_("{directive} {target} names localhost, which nginx resolves to every "
                   "loopback address the host lists (127.0.0.1 and ::1): an app that binds one "
                   "family only refuses the other, and those requests fail."),
                N_("The app binds {bind}."),
                N_("Write the address the app binds instead of localhost.")))
def localhost_upstream(inputs: Inputs) -> Iterator[Hit]:
    """Each proxy_pass / uwsgi_pass (or upstream server) to a `localhost` name."""
    for p in passes(inputs):
        for ep in p.endpoints:
            if ep.host not in NAMES:
                continue
            bound = [b.label for s in serving(inputs, ep) for b in s.binds
                     if b.port == ep.port]
            yield hit((p.file, p.line), directive=p.directive, target=p.target,
                      bind=", ".join(dict.fromkeys(bound)))
            break
