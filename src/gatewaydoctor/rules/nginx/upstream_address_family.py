"""proxy_pass names a host (`localhost`) that resolves to ::1 and 127.0.0.1, and the app
listens on only one of them."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import Endpoint, ErrorLogEntry, Facts, Listener, Location, NginxConfig, ServerBlock
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Cmd, Found, Text, found

CONNECT_FAILED_RE = re.compile(r"connect\(\) (?:to \S+ )?failed \((\d+): ([^)]*)\)")
NO_LIVE_RE = re.compile(r"no live upstreams")


@rule(id="GD-NGX-006", symbol="upstream-address-family",
      category="nginx.upstream_address_family", severity=Severity.ERROR, layer="upstream",
      explains=("upstream.unreachable", "probe.failed"),
      title=N_("proxy_pass names a host that resolves to an address family the app does not "
               "listen on"),
      texts=Text(
          title=N_("proxy_pass {target} also tries {dead}, where nothing listens"),
          explanation=N_(
              "`{host}` resolves to {addresses}; the app listens on {listening} only. nginx "
              "tries {dead} first and logs connect() failed ({n} times here) before it "
              "reaches the app; after any hiccup both addresses are marked down and nginx "
              "answers 502 (`no live upstreams`) for fail_timeout (10s)."),
          fix=N_("Point proxy_pass at the address the app listens on ({url}) in {where}, or "
                 "make the app listen on both families."),
          commands=(Cmd("", N_("edit {where}: {change}")),
                    "{nginx_test} && {nginx_reload}")))
def upstream_address_family(facts: Facts, nginx_config: NginxConfig,
                            nginx_errors: tuple[ErrorLogEntry, ...],
                            listeners: tuple[Listener, ...]) -> Iterator[Found]:
    """`localhost` resolves to ::1 and 127.0.0.1; the app listens on only one of them, so
    nginx fails on the other first (every request, or 502 once both are marked down)."""
    failures = [e for e in nginx_errors if CONNECT_FAILED_RE.search(e.message)]
    for ep, uses in nginx_config.targets().values():
        alive, dead = _split(facts, ep)
        logs = [e for e in failures if e.upstream_label in dead]
        if alive is None or not logs:
            continue
        live = facts.listeners_at(alive)[0]
        yield found(_evidence(logs, uses, live, dead, nginx_errors), _links(ep, uses, live),
                    target=f"{ep.host}:{ep.port}", dead=", ".join(dead), host=ep.host,
                    addresses=", ".join(ep.addresses()), listening=live.endpoint.label,
                    n=len(logs), url=f"http://{alive.label}", where=uses[0][1].where,
                    change=f"proxy_pass http://{alive.label};", target_address=ep.label,
                    new_address=alive.label)


def _evidence(logs: list[ErrorLogEntry], uses: list[tuple[ServerBlock, Location]],
              live: Listener, dead: list[str],
              errors: tuple[ErrorLogEntry, ...]) -> list[Excerpt]:
    """nginx failing on the dead address, the locations, the one listener, `no live upstreams`."""
    nolive = [e for e in errors if NO_LIVE_RE.search(e.message)]
    return [Excerpt(logs[-1].where, logs[-1].raw), *(loc.excerpt for _s, loc in uses[:3]),
            Excerpt(live.table, f"the app listens at {live.endpoint.label} only; nothing at "
                    f"{', '.join(dead)}"),
            *(Excerpt(e.where, e.raw) for e in nolive[-1:])]


def _split(facts: Facts, ep: Endpoint) -> tuple[Endpoint | None, list[str]]:
    """For a TCP target whose host stands for several addresses, where the app listens (the
    first) and the labels where nothing does; (None, []) unless both exist."""
    if ep.path is not None or len(ep.addresses()) < 2:
        return None, []
    each = [Endpoint(host=a, port=ep.port) for a in ep.addresses()]
    alive = [e for e in each if facts.listeners_at(e)]
    dead = sorted({e.label for e in each if not facts.listeners_at(e)})
    return (alive[0], dead) if alive and dead else (None, [])


def _links(ep: Endpoint, uses: list[tuple[ServerBlock, Location]],
           live: Listener) -> list[Link]:
    return [Link("upstream", ep.label), *(loc.link for _s, loc in uses),
            Link("listener", live.endpoint.label), Link("server", uses[0][0].label)]
