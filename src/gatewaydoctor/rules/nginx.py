"""Rules about nginx: an invalid configuration, proxy_pass targets nothing listens at."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from ..facts import Endpoint, ErrorLogEntry, Facts, Listener, Location, ServerBlock
from ..findings import Excerpt, Fix, Hit, Link, Severity
from .common import unit_links, units_serving
from .registry import rule


@rule(id="GD-NGX-001", symbol="config-invalid", category="nginx.config_invalid",
      severity=Severity.ERROR, needs=("nginx_test",), layer="nginx",
      title="nginx -t rejects the configuration")
def config_invalid(facts: Facts) -> Iterator[Hit]:
    """`nginx -t` exits non-zero: nginx cannot (re)load this configuration."""
    test = facts.nginx_test
    if test is None or test.ok:
        return
    bad = [m for m in test.messages if m.level in ("emerg", "alert", "crit", "error")]
    evidence = tuple(
        Excerpt(f"{m.file}:{m.line}" if m.file else test.source, m.raw) for m in bad
    ) or (Excerpt(test.source, f"exit status {test.rc}"),)
    first = bad[0] if bad else None
    where = f"{first.file}:{first.line}" if first and first.file else "the configuration"
    yield Hit(
        title=f"nginx -t fails: {first.text if first else 'configuration test failed'}",
        evidence=evidence,
        explanation=(
            f"nginx refuses the configuration at {where}. A reload keeps the old configuration "
            "running; a restart or boot leaves nginx down."
        ),
        fix=Fix(summary=f"Correct {where}, then test and reload.",
                commands=("nginx -t", "systemctl reload nginx")),
        links=(Link("server", where),),
    )


def _targets(facts: Facts) -> dict[str, tuple[Endpoint, list[tuple[ServerBlock, Location]]]]:
    out: dict[str, tuple[Endpoint, list[tuple[ServerBlock, Location]]]] = {}
    for server, loc in (facts.nginx_config.proxied_locations() if facts.nginx_config else []):
        for ep in loc.endpoints:
            out.setdefault(ep.label, (ep, []))[1].append((server, loc))
    return out


def _log_lines(facts: Facts, ep: Endpoint) -> list[ErrorLogEntry]:
    needle = f"unix:{ep.path}" if ep.path else f"//{ep.label}"
    return [e for e in facts.nginx_errors or ()
            if (e.upstream and needle in e.upstream) or (ep.path and ep.path in e.message)]


def _location_excerpts(uses: list[tuple[ServerBlock, Location]]) -> list[Excerpt]:
    return [Excerpt(loc.where, f"location {loc.path} {{ proxy_pass {loc.proxy_pass}; }}")
            for _s, loc in uses[:3]]


def _is_local_address(host: str) -> bool:
    if host in ("localhost", "*"):
        return True
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    return addr.is_loopback or addr.is_unspecified


def _dead_targets(facts: Facts) -> Iterator[tuple[Endpoint, list[tuple[ServerBlock, Location]]]]:
    for ep, uses in _targets(facts).values():
        if ep.host is not None and not _is_local_address(ep.host):
            continue  # a DNS name or another machine: its listeners are not visible here
        if not facts.listeners_at(ep):
            yield ep, uses


def _links(ep: Endpoint, uses: list[tuple[ServerBlock, Location]]) -> tuple[Link, ...]:
    links = [Link("upstream", ep.label)]
    links += [Link("location", f"{loc.path} {loc.where}") for _s, loc in uses]
    return tuple(links)


@rule(id="GD-NGX-002", symbol="upstream-not-listening", category="upstream.unreachable",
      severity=Severity.ERROR, needs=("nginx_config", "listeners"), layer="upstream",
      role="symptom", title="Nothing listens where proxy_pass points")
def upstream_not_listening(facts: Facts) -> Iterator[Hit]:
    """proxy_pass targets a host:port or socket with no listening socket on this host."""
    for ep, uses in _dead_targets(facts):
        evidence = _location_excerpts(uses)
        table = "/proc/net/unix" if ep.path else "/proc/net/tcp, /proc/net/tcp6"
        evidence.append(Excerpt(table, f"no listening socket at {ep.label}"))
        logs = _log_lines(facts, ep)
        if logs:
            evidence.append(Excerpt(logs[-1].where, logs[-1].raw))
        for p in facts.probes or ():
            if p.kind == "connect" and p.endpoint == ep.label and p.error:
                evidence.append(Excerpt(f"probe {p.label}", p.error))
        serving = units_serving(facts, ep)
        who = ", ".join(u.name for u in serving) or "the app"
        count = f" nginx logged {len(logs)} failed connections to it." if logs else ""
        yield Hit(
            title=f"nothing listens at {ep.label} (proxy_pass of {uses[0][1].path or '/'})",
            evidence=tuple(evidence),
            explanation=(
                f"nginx forwards to {ep.label}, where no socket is listening, so clients get "
                f"502 Bad Gateway.{count} Usually {who} is not running; the cause is why."
            ),
            fix=Fix(
                summary=f"Get {who} listening at {ep.label} again (see the cause).",
                commands=tuple(f"systemctl status {u.name} --no-pager" for u in serving)
                or ("ss -ltnpx",),
            ),
            links=_links(ep, uses) + unit_links(serving),
        )


def _app_listeners(facts: Facts) -> list[tuple[Listener, str]]:
    out = []
    for li in facts.listeners or ():
        for pid in li.pids:
            p = facts.process(pid)
            if p is not None and p.server not in (None, "python"):
                out.append((li, f"{p.server} (pid {p.pid}{', ' + p.unit if p.unit else ''})"))
                break
    return out


@rule(id="GD-NGX-003", symbol="upstream-mismatch", category="nginx.upstream_mismatch",
      severity=Severity.ERROR, needs=("nginx_config", "listeners", "processes"),
      layer="upstream", title="proxy_pass points where nothing listens, while the app listens "
      "elsewhere")
def upstream_mismatch(facts: Facts) -> Iterator[Hit]:
    """The app is up, but on another port or socket than nginx's proxy_pass."""
    apps = _app_listeners(facts)
    if not apps:
        return
    for ep, uses in _dead_targets(facts):
        elsewhere = [(li, who) for li, who in apps
                     if (li.endpoint.path is None) == (ep.path is None)] or apps
        li, who = elsewhere[0]
        server, loc = uses[0]
        evidence = _location_excerpts(uses)
        evidence.append(Excerpt(f"/proc/net/{li.proto}", f"{who} listens at {li.endpoint.label}"))
        evidence.append(Excerpt("/proc/net", f"no listening socket at {ep.label}"))
        new = li.endpoint.label
        if li.endpoint.host in ("0.0.0.0", "::", "*"):
            new = f"127.0.0.1:{li.endpoint.port}"
        yield Hit(
            title=f"proxy_pass goes to {ep.label}, but the app listens at {li.endpoint.label}",
            evidence=tuple(evidence),
            explanation=(
                f"{loc.where} sends {loc.path or '/'} to {ep.label}, where nothing listens, "
                f"while {who} is up at {li.endpoint.label}. nginx answers 502."
            ),
            fix=Fix(
                summary=f"Make them agree: proxy_pass http://{new} in {loc.where}, or bind the "
                f"app to {ep.label}.",
                commands=(f"# edit {loc.where}: proxy_pass http://{new};",
                          "nginx -t && systemctl reload nginx"),
            ),
            links=_links(ep, uses) + (Link("listener", li.endpoint.label),),
        )


@rule(id="GD-NGX-004", symbol="nginx-not-running", category="service.not_running",
      severity=Severity.ERROR, needs=("nginx_config", "processes"), layer="nginx",
      title="nginx is configured but not running")
def nginx_not_running(facts: Facts) -> Iterator[Hit]:
    """A configuration exists, but no nginx master process does."""
    config = facts.nginx_config
    if config is None or any(p.command.startswith("nginx: master process")
                             for p in facts.processes or ()):
        return
    unit = facts.unit("nginx.service")
    evidence = [Excerpt("/proc", "no nginx process is running")]
    if unit is not None:
        evidence.append(Excerpt(unit.source, f"ActiveState={unit.active_state} "
                                f"SubState={unit.sub_state} Result={unit.result}"))
    listens = sorted({li.endpoint.label for s in config.servers for li in s.listens})
    yield Hit(
        title="nginx is not running",
        evidence=tuple(evidence),
        explanation=(
            f"The configuration has {len(config.servers)} server block(s) listening at "
            f"{', '.join(listens) or 'port 80'}, but no nginx process runs, so nothing answers."
        ),
        fix=Fix(summary="Test the configuration and start nginx.",
                commands=("nginx -t", "systemctl start nginx" if facts.units is not None
                          else "nginx")),
        links=(Link("unit", "nginx.service"),) if unit is not None else (),
    )
