"""A limit_req applies to /docs or /openapi.json: the docs page loads the schema and its
assets in a burst, and nginx answers the requests over the rate with 503 (limit_req_status)
without asking the app: "/docs returns 503 while /health works"."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from ...facts import NginxDirective, location_for
from ...findings import Severity
from ...i18n import N_
from ..model import Hit, Inputs, hit
from ..registry import check

PATHS = ("/docs", "/openapi.json", "/redoc")


@check(id="GD-NGX-007", symbol="rate-limited", category="nginx.rate_limited",
       severity=Severity.WARNING,
       message=N_("{limit} applies to {paths} (location {location}): the docs page loads "
                  "its schema and assets in a burst, and nginx answers the requests over the "
                  "rate with 503 itself. Exempt the docs paths or give the zone a burst."))
def limit_req_docs(inputs: Inputs) -> Iterator[Hit]:
    """Each limit_req in force where a docs path is served."""
    for config in inputs.nginx:
        for server in config.servers:
            alone = dataclasses.replace(config, servers=(server,))
            limited: dict[tuple[NginxDirective, str], list[str]] = {}
            for path in PATHS:
                loc = location_for(alone, path)
                limit = config.setting("limit_req", server, loc) if loc else None
                if loc is not None and loc.proxy_pass and limit is not None:
                    limited.setdefault((limit, loc.path or "/"), []).append(path)
            for (limit, location), paths in limited.items():
                yield hit((limit.file, limit.line), limit=limit.text, paths=", ".join(paths),
                          location=location)
