"""Nothing listens where proxy_pass points: the symptom of an app that is down (the cause is
why it is down)."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import Endpoint, ErrorLogEntry, Facts, Listener, Location, NginxConfig, ServerBlock
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Text, found, msg

# ngx_http_upstream_round_robin.c: a peer hit max_fails (a consequence of the failures).


@rule(id="GD-NGX-002", symbol="upstream-not-listening", category="upstream.unreachable",
      severity=Severity.ERROR, layer="upstream", role="symptom",
      title=N_("Nothing listens where proxy_pass points"),
      texts=Text(
          title=N_("Nothing listens at {address} (proxy_pass of {path})"),
          explanation=(
              N_("nginx forwards to {address}, where no socket is listening, so clients get "
                 "502 Bad Gateway."),
              N_("nginx logged {n} failed connections to it."),
              N_("Usually {who} is not running; the cause is why.")),
          fix=N_("Get {who} listening at {address} again (see the cause)."),
          commands=("{status}",)))
def upstream_not_listening(facts: Facts, nginx_config: NginxConfig,
                           listeners: tuple[Listener, ...]) -> Iterator[Found]:
    """proxy_pass targets a host:port or socket with no listening socket on this host."""
    for ep, uses in facts.dead_targets():
        logs = facts.connect_failures(ep)
        serving = facts.services_serving(ep)
        yield found(_evidence(facts, ep, uses, logs),
                    _links(ep, uses) + [Link("unit", u.name) for u in serving],
                    address=ep.label, path=uses[0][1].path or "/", n=len(logs) or None,
                    who=", ".join(u.name for u in serving) or msg(N_("the app")),
                    status=tuple(u.status_command for u in serving) or ("ss -ltnpx",))


def _evidence(facts: Facts, ep: Endpoint, uses: list[tuple[ServerBlock, Location]],
              logs: list[ErrorLogEntry]) -> list[Excerpt]:
    """The locations, the empty socket table, nginx's last complaint, the failed connects."""
    evidence = [loc.excerpt for _s, loc in uses[:3]]
    evidence.append(Excerpt(facts.socket_table(ep), f"no listening socket at {ep.label}"))
    evidence += [Excerpt(e.where, e.raw) for e in logs[-1:]]
    return evidence + [Excerpt(p.where, p.error) for p in facts.probes or ()
                       if p.kind == "connect" and p.endpoint == ep.label and p.error]


def _links(ep: Endpoint, uses: list[tuple[ServerBlock, Location]]) -> list[Link]:
    return [Link("upstream", ep.label), *(loc.link for _s, loc in uses)]
