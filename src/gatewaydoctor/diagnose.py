"""Link findings along the request path and rank root causes above symptoms.

The path is URL → server block → location → upstream → listener → process →
unit → log line. A cause deeper in the path explains the symptoms before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .facts import Endpoint, Facts, NameLookup, NginxMaster, Probe, Route, Unit, location_for, route
from .findings import LAYERS, Excerpt, Finding, Link, Severity
from .i18n import N_, _
from .rules.registry import RuleRun, Skipped

# Symptoms read from what nginx reports inwards to the service; the bare
# "a probe failed" is the least specific, so it comes last.
SYMPTOM_ORDER = ("upstream", "listener", "process", "nginx", "unit", "app", "system", "url")
SEVERITY_ORDER = (Severity.ERROR, Severity.WARNING, Severity.INFO)
# How a hop's layer is named to a reader (`layer_name`); JSON keeps the layer ID.
LAYER_NAMES = {"url": N_("URL"), "server": N_("server block"), "location": N_("location"),
               "upstream": N_("upstream"), "listener": N_("listener"), "process": N_("process"),
               "unit": N_("unit"), "log": N_("log"), "nginx": N_("nginx"), "app": N_("app"),
               "system": N_("system")}


def layer_name(layer: str) -> str:
    """A layer ID (`upstream`) in the reader's language."""
    return _(LAYER_NAMES[layer]) if layer in LAYER_NAMES else layer


@dataclass(frozen=True)
class Hop:
    """One layer of a request path, with its state and the findings about it."""

    layer: str
    name: str
    status: str
    detail: str
    evidence: tuple[Excerpt, ...]
    findings: tuple[str, ...]


@dataclass(frozen=True)
class Chain:
    """One request path through the layers."""

    request: str
    hops: tuple[Hop, ...]


@dataclass(frozen=True)
class Coverage:
    """What could or could not be looked at, and why."""

    area: str
    status: str
    detail: str


@dataclass(frozen=True)
class Diagnosis:
    """The ranked outcome of one run."""

    host: str
    target_url: str | None
    verdict: str
    conclusive: bool
    summary: str
    causes: tuple[Finding, ...]
    findings: tuple[Finding, ...]
    chains: tuple[Chain, ...]
    coverage: tuple[Coverage, ...]
    not_evaluated: tuple[Skipped, ...]
    errors: tuple[Skipped, ...]
    taken_at: str = ""  # when the evidence was gathered
    offline: str | None = None  # where replayed evidence came from; None when live
    # What the reader should know that is no finding (the URL's name not leading here).
    notes: tuple[str, ...] = ()


def rank_key(f: Finding, explained: frozenset[str] = frozenset()) -> tuple[int, int, int]:
    """Sort key: causes first (deepest layer first), then explained causes, then symptoms.

    A cause whose category another finding `explains` is ranked as that finding's symptom.
    """
    sev = SEVERITY_ORDER.index(f.severity)
    if f.role == "cause" and f.category not in explained:
        return (0, sev, -LAYERS.index(f.layer))
    if f.role == "cause":
        return (1, sev, -LAYERS.index(f.layer))
    return (2, sev, SYMPTOM_ORDER.index(f.layer))


def rank(findings: Sequence[Finding]) -> list[Finding]:
    """Order findings root cause first, honouring what each finding explains."""
    explained = frozenset(
        c for f in findings for c in f.explains if c != f.category
    )
    return sorted(findings, key=lambda f: rank_key(f, explained))


def _linked(findings: Sequence[Finding], kind: str, value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f.rule for f in findings if Link(kind, value) in f.links))


def _unit_hops(facts: Facts, units: list[Unit], findings: Sequence[Finding]) -> list[Hop]:
    hops = []
    for u in units:
        ok = u.active_state == "active" and u.sub_state == "running"
        # pm2's status line, a hand-started process's record (its cgroup, parents, output):
        # the manager's own words where it has them.
        hops.append(Hop("unit", u.name, "ok" if ok else "failed", u.state,
                        (u.state_excerpt if u.status_text else
                         Excerpt(u.source, f"ActiveState={u.active_state} SubState={u.sub_state}"
                                 f" Result={u.result} NRestarts={u.n_restarts}"),),
                        _linked(findings, "unit", u.name)))
        tbs = facts.tracebacks_of(u.name)
        journal = facts.journal_of(u.name)
        # The journal's own line is the better evidence; the probe's only when it rotated.
        tb = next((t for t in reversed(tbs) if t.origin == "journal"), tbs[-1] if tbs else None)
        if tb is not None:
            hops.append(Hop("log", tb.last_line, "failed", tb.origin,
                            (Excerpt(tb.source, tb.last_line),),
                            _linked(findings, "log", tb.last_line)))
        elif journal:
            hops.append(Hop("log", journal[-1].message, "unknown", _("last journal line"),
                            (Excerpt(journal[-1].source, journal[-1].message),), ()))
    return hops


def _endpoint_hops(facts: Facts, ep: Endpoint, findings: Sequence[Finding]) -> list[Hop]:
    hops: list[Hop] = []
    listeners = facts.listeners_at(ep) if facts.listeners is not None else []
    logs = [e for e in facts.nginx_errors or () if e.upstream and ep.label in e.upstream]
    ev = tuple(Excerpt(e.where, e.raw) for e in logs[-1:])
    if facts.listeners is None:
        status, detail = "unknown", _("listening sockets could not be read")
    elif listeners:
        status, detail = "ok", _("listening ({proto})").format(proto=listeners[0].proto)
    else:
        status, detail = "failed", _("nothing listens here")
    hops.append(Hop("upstream", ep.label, status, detail, ev,
                    _linked(findings, "upstream", ep.label)))
    units: list[Unit] = []
    for li in listeners[:1]:
        hops.append(Hop("listener", li.endpoint.label, "ok", f"inode {li.inode}", (),
                        _linked(findings, "listener", li.endpoint.label)))
        for pid in li.pids[:1]:
            p = facts.process(pid)
            if p is None:
                continue
            hops.append(Hop("process", str(p.pid), "ok", p.command, (), ()))
            u = facts.unit(p.unit) if p.unit else None
            if u is not None:
                units.append(u)
    if not units:
        units = [u for u in facts.web_units() if any(b.accepts(ep) for b in u.binds)]
    return hops + _unit_hops(facts, units[:1], findings)


def _probe_hop(facts: Facts, via: str, path: str | None, findings: Sequence[Finding]) -> Hop | None:
    for p in facts.probes or ():
        if p.via == via and (path is None or p.path == path):
            return _hop_of(facts, p, findings)
    return None


def _hop_of(facts: Facts, p: Probe, findings: Sequence[Finding]) -> Hop:
    """One probe as the chain's URL hop: what was asked, what answered."""
    detail = p.outcome if p.status is None else _("{outcome}, answered by {who}").format(
        outcome=p.outcome, who=facts.answered_by(p, _))
    return Hop("url", p.label, "failed" if p.failed else "ok", detail,
               (Excerpt(p.where, p.outcome),),
               _linked(findings, "url", f"{p.endpoint}{p.path or '/'}"))


def _name_text(lookup: NameLookup) -> str:
    """Where the URL's name leads from this host, in the reader's language."""
    if not lookup.addresses:
        return _("{host} does not resolve from this host ({error})").format(
            host=lookup.host, error=lookup.error or _("no address"))
    return _("{host} resolves to {addresses} from this host, none of them this host's "
             "own").format(host=lookup.host, addresses=", ".join(lookup.addresses))


def _url_hops(facts: Facts, url: str, findings: Sequence[Finding]) -> list[Hop]:
    """The URL hop: the URL's own request, or, where its name does not lead here, how the
    name resolved and what this host's nginx answered for the URL."""
    lookup = facts.url_name
    if lookup is None or lookup.here or not facts.url_at_nginx():
        hop = _probe_hop(facts, "url", _url_path(url), findings)
        return [hop] if hop else []
    asked = facts.url_at_nginx()
    # The listen that answered first: a failing one leads only when none answered.
    shown = next((p for p in asked if not p.failed), asked[0])
    name = Hop("url", lookup.host, "unknown",
               _("{name}: this host's nginx was asked for the URL directly").format(
                   name=_name_text(lookup)),
               (Excerpt(f"resolve {lookup.host}", lookup.outcome),), ())
    return [name, _hop_of(facts, shown, findings)]


def _route_hops(facts: Facts, r: Route, findings: Sequence[Finding]) -> list[Hop]:
    """The server, each location the request passes through, and the backend it reaches:
    exactly the route nginx takes (facts/routing.py)."""
    server = r.server
    assert server is not None
    hops: list[Hop] = []
    # Details are the deciding directives, as nginx syntax (the same in every language).
    chose = next((s.directive for s in r.steps if s.kind == "server"), "")
    if not r.locations:  # nginx answered at the server level (a return, a redirect)
        chose = "; ".join(x for x in (chose, _handler_text(r)) if x)
    ev = (Excerpt(r.directive.where, r.directive.text),) if r.directive and not r.locations \
        else ()
    hops.append(Hop("server", server.label, "ok", chose, _serving_master(facts) + ev,
                    _linked(findings, "server", "")))
    for n, loc in enumerate(r.locations):
        name = f"{loc.path} {loc.where}"
        last = n == len(r.locations) - 1
        moved = None if last else r.moved_by(n)
        detail = _handler_text(r) if last else (moved.directive.rstrip(";") if moved else "")
        ev = (Excerpt(r.directive.where, _directive_text(r)),) if last and r.directive else ()
        hops.append(Hop("location", name, "ok", detail, ev, _linked(findings, "location", name)))
    for ep in r.endpoints[:2]:
        hops += _endpoint_hops(facts, ep, findings)
    return hops


def _directive_text(r: Route) -> str:
    """The directive that ends the route, as written (a pass with its target only)."""
    d = r.directive
    if d is None:
        return ""
    if r.target is not None:
        return f"{d.name} {r.target};"
    return d.text


def _handler_text(r: Route) -> str:
    """How the route ends: `proxy_pass http://app`, `return 301 https://…`, `root /srv`."""
    if r.handler == "return":
        if r.redirect:
            return f"return {r.status} {r.redirect}"
        return f"return {r.status}" if r.status is not None else "return"
    if r.directive is not None:
        return _directive_text(r).rstrip(";")
    step = next((s for s in reversed(r.steps) if s.kind == "handler"), None)
    return step.directive if step else ""


def _chain_title(r: Route) -> str:
    """`location /api/ of server …`: the last location the route reaches."""
    loc = r.locations[-1] if r.locations else None
    server = r.server
    assert server is not None
    return _("location {path} of {server}").format(
        path=(loc.path if loc else "") or "/", server=server.label)


def build_chains(facts: Facts, findings: Sequence[Finding]) -> list[Chain]:
    """The request paths worth showing: the URL's route, else each proxied location's."""
    chains: list[Chain] = []
    config = facts.nginx_config
    via = "url" if facts.target_url else "nginx"
    if config is not None and facts.target_url:
        r = _url_route(facts, facts.target_url)
        if r.server is not None:
            chains.append(Chain(_chain_title(r), tuple(
                _url_hops(facts, facts.target_url, findings) + _route_hops(facts, r, findings))))
    if config is not None and not chains:
        for server, loc in config.proxied_locations()[:4]:
            hops = []
            probe_path = next((p.path for p in facts.probes or () if p.via == "nginx" and
                               p.path and location_for(config, p.path, p.host_header) == loc),
                              None)
            hop = _probe_hop(facts, via, probe_path, findings)
            if hop:
                hops.append(hop)
            hops.append(Hop("server", server.label, "ok", "", _serving_master(facts),
                            _linked(findings, "server", "")))
            loc_name = f"{loc.path} {loc.where}"
            d = loc.handler
            text = d.text if d is not None else f"proxy_pass {loc.proxy_pass};"
            hops.append(Hop("location", loc_name, "ok", text.rstrip(";"),
                            (Excerpt(d.where if d else loc.where, text),),
                            _linked(findings, "location", loc_name)))
            for ep in loc.endpoints[:2]:
                hops += _endpoint_hops(facts, ep, findings)
            chains.append(Chain(_("location {path} of {server}").format(
                path=loc.path or "/", server=server.label), tuple(hops)))
    if not chains:
        for u in facts.web_units()[:3]:
            hops = []
            for ep in u.binds[:1]:
                hops += _endpoint_hops(facts, ep, findings)
            chains.append(Chain(f"{u.name} ({u.server})", tuple(hops or
                                                                _unit_hops(facts, [u], findings))))
    return chains


def _url_route(facts: Facts, url: str) -> Route:
    """The URL's route; where its name does not lead here, the route of the request made to
    this host's nginx instead (its port may not be the URL's: a load balancer or CDN may end
    TLS and forward 443 to 8080)."""
    config = facts.nginx_config
    assert config is not None
    asked = facts.url_at_nginx()
    if not facts.url_elsewhere():
        return route(config, url)
    p = next((p for p in asked if not p.failed), asked[0])
    ep = Endpoint.parse(p.endpoint)
    if ep.port is None:
        return route(config, url)
    tls = any(li.ssl for s in config.servers for li in s.listens if li.endpoint.port == ep.port)
    return route(config, ("https" if tls else "http", p.host_header or "", ep.port,
                          p.path or "/"), addr=ep.host)


def _url_path(url: str) -> str:
    """The path of the URL asked about (what the URL probe recorded)."""
    from urllib.parse import urlsplit

    try:
        return urlsplit(url if "://" in url else "http://" + url).path or "/"
    except ValueError:  # `http://[` in replayed evidence: the path cannot be told
        return "/"


def coverage(facts: Facts) -> list[Coverage]:
    """What could and could not be looked at."""
    out = []

    def add(area: str, fact: object, ok_detail: str, name: str) -> None:
        if fact is None:
            out.append(Coverage(area, "missing", facts.missing.get(name, _("not gathered"))))
        else:
            out.append(Coverage(area, "ok", ok_detail))

    cfg = facts.nginx_config
    add(_("nginx configuration"), cfg,
        _("{note} ({parser}): {files} files, {servers} server blocks").format(
            note=cfg.note, parser=cfg.parser, files=len(cfg.files), servers=len(cfg.servers))
        if cfg else "", "nginx_config")
    add("nginx -t", facts.nginx_test, _("ran"), "nginx_test")
    add(_("nginx error log"), facts.nginx_errors,
        _("{n} entries read").format(n=len(facts.nginx_errors or ())), "nginx_errors")
    add(_("systemd units"), facts.units, ", ".join(u.name for u in facts.units or ()) or
        _("no Python web service or nginx unit found"), "units")
    add(_("journal"), facts.journal, _("{n} entries").format(n=len(facts.journal or ())),
        "journal")
    add(_("listening sockets"), facts.listeners,
        _("{n} listening").format(n=len(facts.listeners or ())), "listeners")
    add(_("processes"), facts.processes,
        _("{n} seen").format(n=len(facts.processes or ())), "processes")
    add(_("probes"), facts.probes, _("{n} made ({failed} failed)").format(
        n=len(facts.probes or ()), failed=sum(1 for p in facts.probes or () if p.failed)),
        "probes")
    ok, failed = _("ok"), _("failed")
    add(_("import probe"), facts.import_probes,
        ", ".join(f"{p.unit}: {ok if p.ok else p.exc_type or failed}"
                  for p in facts.import_probes or ()), "import_probes")
    out += [Coverage(s.source, "skipped", s.reason) for s in facts.skipped]
    return out


def _conclusive(facts: Facts) -> bool:
    has_nginx = facts.nginx_config is not None and bool(facts.nginx_config.servers)
    has_app = bool(facts.web_units()) or any(
        p.server not in (None, "python") for p in facts.processes or ())
    answered = any(p.via == "url" and not p.failed and not p.elsewhere
                   for p in facts.probes or ()) or \
        any(not p.failed for p in facts.url_at_nginx())
    return has_nginx or has_app or answered


def _master_notes(facts: Facts) -> list[str]:
    """Which nginx master serves the request, when several run here, and each other one
    (binary and -c, ports): their server blocks are not in the chain."""
    if len(facts.nginx_masters) < 2:
        return []
    serving, others = facts.nginx_masters[0], facts.nginx_masters[1:]
    port = _url_port(facts.target_url)
    asked = _("port {port}").format(port=port) if port else _("port 80 or 443")
    if ({port} if port else {80, 443}) & {Endpoint.parse(a).port for a in serving.ports}:
        first = _("{n} nginx masters run here; pid {pid} ({command}{how}) listens on {asked}: "
                  "the chain and the probes read its configuration only.")
    else:
        first = _("{n} nginx masters run here and none was seen listening on {asked}; the "
                  "chain and the probes read the configuration of pid {pid} ({command}{how}) "
                  "only.")
    out = [first.format(n=len(facts.nginx_masters), pid=serving.pid, command=serving.command,
                        how=_found_by(serving), asked=asked)]
    for m in others:
        failed = _("; its nginx -T fails") if m.dump_ok is False else ""
        out.append(_("Another nginx master, not this request's: pid {pid}, {command}{how}, "
                     "listening on {ports}{failed}.").format(
            pid=m.pid, command=m.command or "?", how=_found_by(m),
            ports=", ".join(m.ports) or _("no socket seen"), failed=failed))
    return out


def _serving_master(facts: Facts) -> tuple[Excerpt, ...]:
    """Where several nginx masters run, which one's server block this is (its -T)."""
    if len(facts.nginx_masters) < 2:
        return ()
    m = facts.nginx_masters[0]
    ports = f" ({', '.join(m.ports)})" if m.ports else ""
    return (Excerpt(m.source or "nginx -T", f"nginx master pid {m.pid}: {m.command}{ports}"),)


def _found_by(master: NginxMaster) -> str:
    """Why a master was taken for nginx though its title does not say so."""
    return (_(", found by its listening sockets (its process title does not say nginx)")
            if master.found_by == "sockets" else "")


def _url_port(url: str | None) -> int | None:
    """The port a URL is asked on (80/443 by its scheme), None without a URL."""
    from urllib.parse import urlsplit

    if not url:
        return None
    try:
        parts = urlsplit(url if "://" in url else "http://" + url)
        return parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None


def notes(facts: Facts) -> list[str]:
    """What the reader should know that is no finding: other nginx masters beside the one
    that serves the request; the URL's name not leading to this host (split DNS, a load
    balancer or CDN in front, a name only in a client's hosts file)."""
    return _master_notes(facts) + _name_notes(facts)


def _name_notes(facts: Facts) -> list[str]:
    """The URL's name not leading to this host."""
    lookup = facts.url_name
    if lookup is None or lookup.here:
        return []
    asked = facts.url_at_nginx()
    answered = next((p for p in asked if not p.failed), None)
    if answered is not None:
        then = _("this host's nginx, asked for the URL directly ({request}), answers {outcome}, "
                 "so what runs here is judged by that answer.").format(
                     request=answered.label, outcome=answered.outcome)
    elif asked:
        then = _("this host's nginx, asked for the URL directly ({request}), fails too "
                 "({outcome}): the diagnosis follows that request.").format(
                     request=asked[0].label, outcome=asked[0].outcome)
    elif facts.nginx_config is None:
        then = _("this host's nginx configuration could not be read, so the URL could only "
                 "be requested through the name.")
    else:
        then = _("no server block of this host's nginx serves that name, so the URL could "
                 "only be requested through the name.")
    return [_("{name}: a load balancer or CDN in front, split DNS or a name only in a "
              "client's hosts file leads clients elsewhere; {then}").format(
                  name=_name_text(lookup), then=then)]


def diagnose(facts: Facts, run: RuleRun) -> Diagnosis:
    """Rank findings, build the request chains and decide the verdict."""
    ranked = rank(run.findings)
    causes = tuple(f for f in ranked if f.severity != Severity.INFO)
    conclusive = _conclusive(facts)
    if any(f.severity == Severity.ERROR for f in ranked):
        verdict = "broken"
    elif causes or not conclusive:
        verdict = "degraded"
    else:
        verdict = "healthy"
    if not conclusive:
        summary = _("Nothing to diagnose: no nginx server block and no Python web service were "
                    "found on this host (see coverage).")
    elif causes:
        summary = f"{causes[0].title} [{causes[0].symbol}]"
    else:
        summary = _("No problem found in what could be looked at.")
    return Diagnosis(
        host=facts.host, target_url=facts.target_url, verdict=verdict, conclusive=conclusive,
        summary=summary, causes=causes, findings=tuple(ranked),
        chains=tuple(build_chains(facts, ranked)), coverage=tuple(coverage(facts)),
        not_evaluated=run.not_evaluated, errors=run.errors, taken_at=facts.taken_at,
        notes=tuple(notes(facts)),
    )
