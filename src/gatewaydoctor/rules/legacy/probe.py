"""The fallback rule: a probe failed. Ranked last; it is the top cause only when alone."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from ...facts import Facts, Probe, location_for
from ...findings import Excerpt, Fix, Hit, Link, Severity
from ...i18n import N_, _
from ..registry import rule


def _failed(p: Probe) -> bool:
    if p.kind != "http":
        return False
    if p.via == "upstream":
        # Straight to the app, a refused connection is upstream-not-listening's business.
        return p.status is not None and p.status >= 500
    return p.failed


def _body(p: Probe) -> str:
    if not p.body_head:
        return ""
    text = " ".join(p.body_head.split())
    title = re.search(r"<title>(.*?)</title>", text, re.I)
    return f" body: {title.group(1) if title else text[:120]}"


def _curl(p: Probe) -> str:
    host = f" -H 'Host: {p.host_header}'" if p.host_header else ""
    if p.endpoint.startswith("unix:"):
        return f"curl -sv --unix-socket {p.endpoint[5:]}{host} http://localhost{p.path or '/'}"
    return f"curl -sv{host} http://{p.endpoint}{p.path or '/'}"


def _same(message: str) -> str:
    return message


def answered_by(facts: Facts, p: Probe, tr: Callable[[str], str] = _same) -> str:
    """Which layer produced this probe's answer: nginx itself, the app, or something else.

    English for evidence; `tr=_` in the reader's language (the chain's URL hop).
    """
    if p.status is None:
        return tr(N_("nobody answered"))
    if p.via == "upstream":
        return tr(N_("the app at {endpoint}")).format(endpoint=p.endpoint)
    server = (p.server or "").lower()
    if not server.startswith("nginx"):
        owner = _owner(facts, p.endpoint)
        said = (tr(N_("the Server header says {server}")).format(server=repr(p.server))
                if p.server else tr(N_("no nginx Server header")))
        if owner:
            return tr(N_("not nginx ({said}): {owner}")).format(said=said, owner=owner)
        return tr(N_("not nginx ({said})")).format(said=said)
    if p.status >= 400 and p.body_head and "<center>nginx" in p.body_head:
        return tr(N_("nginx itself (its own error page)"))
    return tr(N_("the app, relayed by nginx"))


def _owner(facts: Facts, endpoint: str) -> str | None:
    """The process listening at a `host:port`, as `comm (pid N)`."""
    from ...facts import Endpoint

    for li in facts.listeners_at(Endpoint.parse(endpoint)):
        for pid in li.pids[:1]:
            proc = facts.process(pid)
            if proc is not None:
                return f"{proc.comm} (pid {proc.pid}) listens at {li.endpoint.label}"
    return None


def _links(facts: Facts, p: Probe) -> tuple[Link, ...]:
    links = [Link("url", f"{p.endpoint}{p.path or '/'}")]
    if p.via == "upstream":
        links.append(Link("upstream", p.endpoint))
    elif facts.nginx_config is not None and p.path:
        loc = location_for(facts.nginx_config, p.path, p.host_header)
        if loc is not None:
            links.append(Link("location", f"{loc.path} {loc.where}"))
            links += [Link("upstream", ep.label) for ep in loc.endpoints]
    return tuple(links)


@rule(id="GD-GEN-001", symbol="probe-failed", category="probe.failed",
      severity=Severity.ERROR, needs=("probes",), layer="url", role="symptom",
      title=N_("A request made from the host failed"))
def probe_failed(facts: Facts) -> Iterator[Hit]:
    """An HTTP probe (the URL, through nginx, or straight to the app) got 5xx or no answer."""
    # The URL and the nginx probes reach the same listener: one finding per endpoint.
    groups: dict[tuple[bool, str], list[Probe]] = {}
    for p in facts.probes or ():
        if _failed(p):
            groups.setdefault((p.via == "upstream", p.endpoint), []).append(p)
    for (direct, endpoint), probes in groups.items():
        first = probes[0]
        paths = ", ".join(dict.fromkeys(p.path or "/" for p in probes))
        where = (_("the app directly") if direct else "nginx" if first.via == "nginx"
                 else _("the URL"))
        yield Hit(
            title=_("Request to {where} at {endpoint} failed: {outcome} for {paths}").format(
                where=where, endpoint=endpoint, outcome=first.outcome, paths=paths),
            evidence=tuple(Excerpt(f"probe {p.label}", f"{p.outcome}{_body(p)}; answered by "
                                   f"{answered_by(facts, p)}") for p in probes),
            explanation=_(
                "A request from this host to {where} failed ({outcome}). The chain "
                "below shows what each layer looked like."
            ).format(where=where, outcome=first.outcome),
            fix=Fix(summary=_("Follow the chain to the first layer that is not healthy."),
                    commands=tuple(_curl(p) for p in probes[:2])),
            links=_links(facts, first),
        )
