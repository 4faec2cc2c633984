"""The nginx configuration does not parse: `nginx -t` (or crossplane, reading files as nginx
does) rejects it, and nginx will not start or reload with it."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Severity
from ...i18n import N_
from ..model import Hit, Inputs, hit
from ..registry import check


@check(id="GD-NGX-001", symbol="config-invalid", category="nginx.config_invalid",
       severity=Severity.ERROR,
       message=N_("nginx rejects this configuration: {error}. `nginx -t` fails, and a reload "
                  "or restart with it keeps the old configuration or leaves nginx stopped."))
def config_invalid(inputs: Inputs) -> Iterator[Hit]:
    """Each error nginx (or crossplane) reports, where it reports it."""
    for e in inputs.nginx_errors:
        yield hit((e.file, e.line), error=e.text)
