"""The fallback rule: a probe failed. Ranked last; it is the top cause only when alone."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import Facts, NginxConfig, Probe, location_for
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Msg, Text, found, msg

SLOW = 1.0  # seconds: an answer this slow keeps a worker busy while our other probes wait


@rule(id="GD-GEN-001", symbol="probe-failed", category="probe.failed",
      severity=Severity.ERROR, layer="url", role="symptom",
      title=N_("A request made from the host failed"),
      texts=Text(
          title=N_("Request to {where} at {endpoint} failed: {outcome} for {paths}"),
          explanation=N_(
              "A request from this host to {where} failed ({outcome}). The chain "
              "below shows what each layer looked like."),
          fix=N_("Follow the chain to the first layer that is not healthy."),
          commands=("{curl}",)))
def probe_failed(facts: Facts, probes: tuple[Probe, ...]) -> Iterator[Found]:
    """An HTTP probe (the URL, through nginx, or straight to the app) got 5xx or no answer."""
    for (direct, endpoint), failed in _groups(facts, probes).items():
        first = failed[0]
        yield found([Excerpt(p.where, f"{p.outcome}{_body(p)}; answered by "
                             f"{facts.answered_by(p)}") for p in failed],
                    _links(facts.nginx_config, first),
                    where=_where(direct, first), endpoint=endpoint, outcome=first.outcome,
                    paths=", ".join(dict.fromkeys(p.path or "/" for p in failed)),
                    # curl speaks HTTP, not the uwsgi protocol of a uwsgi_pass socket.
                    curl=tuple(_curl(p) for p in failed[:2] if p.protocol == "http"))


def _groups(facts: Facts, probes: tuple[Probe, ...]) -> dict[tuple[bool, str], list[Probe]]:
    """The failed probes by (straight to the app, endpoint). The URL and the nginx probes
    reach the same listener: one finding per endpoint, and one for the URL, its own path
    asked of this host's nginx (at each listen) leading (its name may not lead here at
    all: that probe is then `elsewhere`, not failed)."""
    asked = {p.source for p in facts.url_at_nginx()}
    failing = [p for p in sorted(probes, key=lambda p: p.source not in asked)
               if _failed(p) and not _queued(p, probes)]
    url = [p for p in failing if p.source in asked or p.via == "url"]
    groups: dict[tuple[bool, str], list[Probe]] = {}
    for p in failing:
        key = (False, url[0].endpoint) if p in url else (p.via == "upstream", p.endpoint)
        groups.setdefault(key, []).append(p)
    return groups


def _failed(p: Probe) -> bool:
    if p.kind != "http":
        return False
    if p.via == "upstream":
        # Straight to the app, a refused connection is upstream-not-listening's business.
        return p.status is not None and p.status >= 500
    return p.failed


def _queued(p: Probe, probes: tuple[Probe, ...]) -> bool:
    """Our probe gave up waiting (no answer, no error from the stack) while another request
    of ours to the same site or app was answered, slowly (over SLOW s): the app answers,
    and this one waited behind ours. That is the app's speed, not a failure."""
    if p.status is not None or not (p.error or "").startswith("timed out"):
        return False
    return any(o.kind == "http" and o.status is not None and o.status < 500
               and (o.elapsed or 0) > SLOW and not o.elsewhere
               and (o.host_header == p.host_header or o.endpoint == p.endpoint)
               for o in probes)


def _where(direct: bool, p: Probe) -> str | Msg:
    """What was asked: the app directly, nginx, or the URL."""
    if direct:
        return msg(N_("the app directly"))
    return "nginx" if p.via == "nginx" else msg(N_("the URL"))


def _body(p: Probe) -> str:
    if not p.body_head:
        return ""
    text = " ".join(p.body_head.split())
    title = re.search(r"<title>(.*?)</title>", text, re.I)
    return f" body: {title.group(1) if title else text[:120]}"


def _curl(p: Probe) -> str:
    """The request again, as a curl command."""
    host = f" -H 'Host: {p.host_header}'" if p.host_header else ""
    if p.endpoint.startswith("unix:"):
        return f"curl -sv --unix-socket {p.endpoint[5:]}{host} http://localhost{p.path or '/'}"
    return f"curl -sv{host} http://{p.endpoint}{p.path or '/'}"


def _links(config: NginxConfig | None, p: Probe) -> list[Link]:
    """The URL, and the location and upstreams nginx routes it through."""
    links = [Link("url", f"{p.endpoint}{p.path or '/'}")]
    if p.via == "upstream":
        return [*links, Link("upstream", p.endpoint)]
    loc = location_for(config, p.path, p.host_header) if config is not None and p.path else None
    if loc is not None:
        links += [loc.link, *(Link("upstream", ep.label) for ep in loc.endpoints)]
    return links
