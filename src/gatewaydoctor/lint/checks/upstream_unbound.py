"""proxy_pass / uwsgi_pass (or an upstream's server) points at a port or unix socket on this
host that no unit or program binds, and where (on a host) nothing listens: every request
there gets 502 (connect() failed, 111: Connection refused, or 2: No such file)."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Severity
from ...i18n import N_
from ...rules.spec import msg
from ..model import Hit, Inputs, hit
from ..registry import check
from ..view import passes


@check(id="GD-NGX-003", symbol="upstream-mismatch", category="nginx.upstream_mismatch",
       severity=Severity.ERROR,
       message=(N_("{directive} {target} reaches {endpoint}, which no unit or program binds: "
                   "nginx answers 502 there."),
                "{nothing}", N_("The services bind {binds}.")))
def upstream_unbound(inputs: Inputs) -> Iterator[Hit]:
    """Each local target no service binds (and, on a host, nothing listens on)."""
    if not inputs.knows_binds:
        return
    binds = inputs.binds
    named = ", ".join(dict.fromkeys(b.label for s in inputs.services for b in s.binds))
    for p in passes(inputs):
        for ep in p.endpoints:
            if ep.on_this_host and not any(b.accepts(ep) for b in binds):
                yield hit((p.file, p.line), directive=p.directive, target=p.target,
                          endpoint=ep.label, binds=named,
                          nothing=msg(N_("Nothing on this host listens there either."))
                          if inputs.listening is not None else None)
