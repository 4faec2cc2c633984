"""Rules about nginx and the nginx↔backend hop: configuration, reloads, upstream targets,
limits, buffers, timeouts and socket permissions."""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Iterator

from ...facts import (
    Endpoint,
    ErrorLogEntry,
    Facts,
    Listener,
    Location,
    NginxDirective,
    NginxUser,
    PathStat,
    Probe,
    ServerBlock,
    Unit,
    location_for,
    server_for,
)
from ...findings import Excerpt, Fix, Hit, Link, Severity
from ...i18n import N_, _, sentences
from ..registry import rule
from .common import status_command, unit_links, units_serving


@rule(id="GD-NGX-001", symbol="config-invalid", category="nginx.config_invalid",
      severity=Severity.ERROR, needs=("nginx_test",), layer="nginx",
      title=N_("nginx -t rejects the configuration"))
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
    where = f"{first.file}:{first.line}" if first and first.file else _("the configuration")
    config = facts.nginx_config
    down: list[int] = []
    if facts.listeners is not None and config is not None:
        ports = sorted({li.endpoint.port for s in config.servers for li in s.listens
                        if li.endpoint.port is not None})
        down = [p for p in ports if not any(li.endpoint.port == p and li.proto.startswith("tcp")
                                            for li in facts.listeners)]
        if down:
            evidence += (Excerpt(facts.tcp_tables, "nothing listens on "
                                 + ", ".join(f":{p}" for p in down)
                                 + " (nginx is down: it cannot start with this configuration)"),)
    yield Hit(
        title=_("nginx -t fails: {error}").format(
            error=first.text if first else _("configuration test failed")),
        evidence=evidence,
        explanation=(_(
            "nginx refuses the configuration at {where}. A reload keeps the old configuration "
            "running; a restart or boot leaves nginx down, as it is now: nothing answers.")
            if down else _(
            "nginx refuses the configuration at {where}. A reload keeps the old configuration "
            "running; a restart or boot leaves nginx down.")).format(where=where),
        fix=Fix(summary=(_("Correct {where}, then test and start nginx.") if down else
                         _("Correct {where}, then test and reload.")).format(where=where),
                commands=("nginx -t", "systemctl restart nginx" if down
                          else "systemctl reload nginx")),
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
      role="symptom", title=N_("Nothing listens where proxy_pass points"))
def upstream_not_listening(facts: Facts) -> Iterator[Hit]:
    """proxy_pass targets a host:port or socket with no listening socket on this host."""
    for ep, uses in _dead_targets(facts):
        evidence = _location_excerpts(uses)
        evidence.append(Excerpt(facts.socket_table(ep), f"no listening socket at {ep.label}"))
        logs = _log_lines(facts, ep)
        if logs:
            evidence.append(Excerpt(logs[-1].where, logs[-1].raw))
        for p in facts.probes or ():
            if p.kind == "connect" and p.endpoint == ep.label and p.error:
                evidence.append(Excerpt(f"probe {p.label}", p.error))
        serving = units_serving(facts, ep)
        who = ", ".join(u.name for u in serving) or _("the app")
        yield Hit(
            title=_("Nothing listens at {address} (proxy_pass of {path})").format(
                address=ep.label, path=uses[0][1].path or "/"),
            evidence=tuple(evidence),
            explanation=sentences(
                _("nginx forwards to {address}, where no socket is listening, so clients get "
                  "502 Bad Gateway.").format(address=ep.label),
                _("nginx logged {n} failed connections to it.").format(n=len(logs))
                if logs else "",
                _("Usually {who} is not running; the cause is why.").format(who=who)),
            fix=Fix(
                summary=_("Get {who} listening at {address} again (see the cause).").format(
                    who=who, address=ep.label),
                commands=tuple(status_command(u.name) for u in serving)
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
      layer="upstream", explains=("upstream.unreachable", "service.not_running", "probe.failed"),
      title=N_("proxy_pass points where nothing listens, while the app listens elsewhere"))
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
        evidence.append(Excerpt(li.table, f"{who} listens at {li.endpoint.label}"))
        evidence.append(Excerpt(facts.socket_table(ep), f"no listening socket at {ep.label}"))
        new = li.endpoint.label
        if li.endpoint.host in ("0.0.0.0", "::", "*"):
            new = f"127.0.0.1:{li.endpoint.port}"
        yield Hit(
            title=_("proxy_pass goes to {address}, but the app listens at {listening}").format(
                address=ep.label, listening=li.endpoint.label),
            evidence=tuple(evidence),
            explanation=_(
                "{where} sends {path} to {address}, where nothing listens, while {who} is up "
                "at {listening}. nginx answers 502."
            ).format(where=loc.where, path=loc.path or "/", address=ep.label, who=who,
                     listening=li.endpoint.label),
            fix=Fix(
                summary=_("Make them agree: {directive} in {where}, or bind the app to "
                          "{address}.").format(directive=f"proxy_pass http://{new}",
                                               where=loc.where, address=ep.label),
                commands=("# " + _("edit {where}: {change}").format(
                              where=loc.where, change=f"proxy_pass http://{new};"),
                          "nginx -t && systemctl reload nginx"),
            ),
            links=_links(ep, uses) + (Link("listener", li.endpoint.label),),
        )


@rule(id="GD-NGX-004", symbol="nginx-not-running", category="service.not_running",
      severity=Severity.ERROR, needs=("nginx_config", "processes"), layer="nginx",
      title=N_("nginx is configured but not running"))
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
    test = facts.nginx_test
    if test is not None and not test.ok:
        # nginx cannot start with an invalid configuration: config-invalid is the cause.
        yield Hit(
            title=_("nginx is not running: its configuration is invalid"),
            evidence=tuple(evidence) + (Excerpt(test.source, f"exit status {test.rc}"),),
            explanation=_("No nginx process runs, and `nginx -t` fails, so it cannot start."),
            fix=Fix(summary=_("Correct the configuration (see the nginx -t finding), then "
                              "start nginx."), commands=("nginx -t", "systemctl start nginx")),
            links=(Link("unit", "nginx.service"),) if unit is not None else (),
            role="symptom",
        )
        return
    yield Hit(
        title=_("nginx is not running"),
        evidence=tuple(evidence),
        explanation=_(
            "The configuration has {n} server block(s) listening at {addresses}, but no nginx "
            "process runs, so nothing answers."
        ).format(n=len(config.servers), addresses=", ".join(listens) or ":80"),
        fix=Fix(summary=_("Test the configuration and start nginx."),
                commands=("nginx -t", "systemctl start nginx" if facts.units is not None
                          else "nginx")),
        links=(Link("unit", "nginx.service"),) if unit is not None else (),
    )


# --- helpers for the rules below ------------------------------------------------------

def _utc(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t)) if t is not None else "?"


def _errors(facts: Facts, pattern: re.Pattern[str]) -> list[tuple[ErrorLogEntry, re.Match[str]]]:
    out = []
    for e in facts.nginx_errors or ():
        m = pattern.search(e.message)
        if m:
            out.append((e, m))
    return out


def _upstream_label(url: str | None) -> str | None:
    """`http://127.0.0.1:8000/api` → `127.0.0.1:8000`; `http://unix:/a.sock:/x` → `unix:/a.sock`."""
    if not url or "://" not in url:
        return None
    rest = url.split("://", 1)[1]
    if rest.startswith("unix:"):
        return "unix:" + rest[5:].split(":", 1)[0]
    return rest.split("/", 1)[0]


def _request_path(e: ErrorLogEntry) -> str | None:
    parts = (e.request or "").split()
    return parts[1] if len(parts) > 1 else None


def _place(facts: Facts, e: ErrorLogEntry) -> tuple[ServerBlock | None, Location | None]:
    """The server block and location the logged request went through."""
    config, path = facts.nginx_config, _request_path(e)
    if config is None or path is None:
        return None, None
    loc = location_for(config, path, e.host)
    server = config.server_of(loc) if loc is not None else server_for(config, e.host)
    return server, loc


def _setting(facts: Facts, name: str, server: ServerBlock | None, loc: Location | None,
             default: str) -> tuple[str, Excerpt]:
    """The value of a directive in force at a location, with where it is set (or the default)."""
    config = facts.nginx_config
    d = config.setting(name, server, loc) if config is not None else None
    if d is not None:
        return " ".join(d.args), Excerpt(d.where, d.text)
    where = loc.where if loc is not None else "the configuration"
    return default, Excerpt(where, f"{name} not set: nginx's default {default} applies")


def _url_probe(facts: Facts) -> Probe | None:
    return next((p for p in facts.probes or () if p.via == "url"), None)


def _probe_excerpt(p: Probe) -> Excerpt:
    return Excerpt(f"probe {p.label}", p.outcome + (f" after {p.elapsed:.1f}s" if p.elapsed
                                                    and p.error else ""))


def _loc_links(server: ServerBlock | None, loc: Location | None,
               upstream: bool = True) -> tuple[Link, ...]:
    links: list[Link] = []
    if server is not None:
        links.append(Link("server", server.label))
    if loc is not None:
        links.append(Link("location", f"{loc.path} {loc.where}"))
        if upstream:
            links += [Link("upstream", ep.label) for ep in loc.endpoints]
    return tuple(links)


def _reload_fix(summary: str, *edits: str) -> Fix:
    return Fix(summary=summary, commands=(*edits, "nginx -t && systemctl reload nginx"))


# --- nginx.not_reloaded ---------------------------------------------------------------

# /proc start times are in clock ticks from an uptime-derived boot time: allow for rounding.
RELOAD_SLACK = 0.25


@rule(id="GD-NGX-005", symbol="not-reloaded", category="nginx.not_reloaded",
      severity=Severity.ERROR, needs=("nginx_config", "nginx_runtime"), layer="nginx",
      explains=("nginx.upstream_mismatch", "upstream.unreachable", "probe.failed"),
      title=N_("The running nginx still uses an older configuration than the one on disk"))
def not_reloaded(facts: Facts) -> Iterator[Hit]:
    """A config file changed after nginx last read its configuration, and nginx's traffic
    shows the old configuration (upstreams the files no longer name, or failing requests)."""
    rt, config = facts.nginx_runtime, facts.nginx_config
    if rt is None or config is None or rt.loaded_at is None:
        return
    loaded = rt.loaded_at
    changed = [f for f in rt.files if f.mtime is not None and f.mtime > loaded + RELOAD_SLACK]
    if not changed:
        return
    configured = {ep.label for _s, loc in config.proxied_locations() for ep in loc.endpoints}
    named = {_upstream_label(f"http://{u.name}/") for u in config.upstreams}
    stale = [e for e in facts.nginx_errors or ()
             if (label := _upstream_label(e.upstream)) is not None and ":" in label
             and label not in configured and label not in named]
    failing = [p for p in facts.probes or () if p.via in ("nginx", "url") and p.failed]
    if not stale and not failing:
        return
    paths = {f.path for f in changed}
    evidence = [Excerpt(rt.source, f"{f.path} modified {_utc(f.mtime)}, after nginx last loaded "
                        f"its configuration ({_utc(loaded)})") for f in changed[:3]]
    master = rt.master
    if master is not None:
        evidence.append(Excerpt(rt.source, f"nginx master pid {master.pid} started "
                                f"{_utc(master.start_time)}; newest worker started {_utc(loaded)}"))
    uses = [(s, loc) for s, loc in config.proxied_locations() if loc.file in paths]
    evidence += [Excerpt(loc.where, f"on disk: location {loc.path} {{ proxy_pass "
                         f"{loc.proxy_pass}; }}") for _s, loc in uses[:2]]
    if stale:
        evidence.append(Excerpt(stale[-1].where, stale[-1].raw))
    for p in failing[:1]:
        evidence.append(_probe_excerpt(p))
    on_disk = {ep.label for _s, loc in uses for ep in loc.endpoints}
    for p in facts.probes or ():
        if p.via == "upstream" and p.endpoint in on_disk and p.status and p.status < 400:
            evidence.append(Excerpt(f"probe {p.label}", f"{p.outcome}: the app answers where "
                                    "the files on disk point"))
            break
    old = _upstream_label(stale[-1].upstream) if stale else None
    new = ", ".join(dict.fromkeys(ep.label for _s, loc in uses for ep in loc.endpoints))
    differs = (_("The running nginx still sends requests to {old}, while the files say "
                 "{new}.").format(old=old, new=new) if old and new else "")
    yield Hit(
        title=_("nginx was not reloaded after {files} changed").format(
            files=", ".join(sorted(paths))),
        evidence=tuple(evidence),
        explanation=sentences(
            _("{files} changed on disk after the running nginx read its configuration "
              "({loaded}), so nginx still serves the old one.").format(
                  files=", ".join(sorted(paths)), loaded=_utc(loaded)),
            differs,
            _("`nginx -T` shows the files, not what nginx runs.")),
        fix=_reload_fix(_("Test the configuration on disk and reload nginx so it takes "
                          "effect.")),
        links=(Link("unit", "nginx.service"), *(link for s, loc in uses[:2]
                                               for link in _loc_links(s, loc))),
    )


# --- nginx.upstream_address_family ----------------------------------------------------

CONNECT_FAILED_RE = re.compile(r"connect\(\) (?:to \S+ )?failed \((\d+): ([^)]*)\)")


@rule(id="GD-NGX-006", symbol="upstream-address-family",
      category="nginx.upstream_address_family", severity=Severity.ERROR,
      needs=("nginx_config", "nginx_errors", "listeners"), layer="upstream",
      explains=("upstream.unreachable", "probe.failed"),
      title=N_("proxy_pass names a host that resolves to an address family the app does not "
               "listen on"))
def upstream_address_family(facts: Facts) -> Iterator[Hit]:
    """`localhost` resolves to ::1 and 127.0.0.1; the app listens on only one of them, so
    nginx fails on the other first (every request, or 502 once both are marked down)."""
    failures = _errors(facts, CONNECT_FAILED_RE)
    for ep, uses in _targets(facts).values():
        addresses = ep.addresses()
        if ep.path is not None or len(addresses) < 2:
            continue
        dead = [a for a in addresses if not facts.listeners_at(Endpoint(host=a, port=ep.port))]
        alive = [a for a in addresses if a not in dead]
        if not dead or not alive:
            continue
        dead_labels = {Endpoint(host=a, port=ep.port).label for a in dead}
        logs = [e for e, _m in failures if _upstream_label(e.upstream) in dead_labels]
        if not logs:
            continue
        live = facts.listeners_at(Endpoint(host=alive[0], port=ep.port))
        server, loc = uses[0]
        evidence = [Excerpt(logs[-1].where, logs[-1].raw)]
        evidence += _location_excerpts(uses)
        evidence.append(Excerpt(live[0].table,
                                f"the app listens at {live[0].endpoint.label} only; nothing "
                                f"at {', '.join(sorted(dead_labels))}"))
        nolive = _errors(facts, re.compile(r"no live upstreams"))
        if nolive:
            evidence.append(Excerpt(nolive[-1][0].where, nolive[-1][0].raw))
        fixed = Endpoint(host=alive[0], port=ep.port).label
        yield Hit(
            title=_("proxy_pass {target} also tries {dead}, where nothing listens").format(
                target=f"{ep.host}:{ep.port}", dead=", ".join(sorted(dead_labels))),
            evidence=tuple(evidence),
            explanation=_(
                "`{host}` resolves to {addresses}; the app listens on {listening} only. nginx "
                "tries {dead} first and logs connect() failed ({n} times here) before it "
                "reaches the app; after any hiccup both addresses are marked down and nginx "
                "answers 502 (`no live upstreams`) for fail_timeout (10s)."
            ).format(host=ep.host, addresses=", ".join(addresses),
                     listening=live[0].endpoint.label, dead=", ".join(sorted(dead_labels)),
                     n=len(logs)),
            fix=_reload_fix(
                _("Point proxy_pass at the address the app listens on ({url}) in {where}, or "
                  "make the app listen on both families.").format(
                      url=f"http://{fixed}", where=loc.where),
                "# " + _("edit {where}: {change}").format(
                    where=loc.where, change=f"proxy_pass http://{fixed};")),
            links=_links(ep, uses) + (Link("listener", live[0].endpoint.label),)
            + _loc_links(server, None),
        )


# --- nginx.rate_limited -----------------------------------------------------------------

LIMIT_RE = re.compile(r"limiting (requests|connections), (?!dry run)(?:excess: ([\d.]+) )?"
                      r"by zone \"([^\"]+)\"")


def _zone_directives(facts: Facts, kind: str, zone: str, server: ServerBlock | None,
                     loc: Location | None) -> tuple[NginxDirective | None, NginxDirective | None]:
    """The `limit_req zone=` in force at loc and the `limit_req_zone` defining the zone."""
    config = facts.nginx_config
    if config is None:
        return None, None
    use_name, def_name = ("limit_req", "limit_req_zone") if kind == "requests" else (
        "limit_conn", "limit_conn_zone")
    scopes = [loc.directives if loc else (), server.directives if server else (),
              tuple(d for d in config.globals if d.context == "http")]
    use = next((d for scope in scopes for d in scope if d.name == use_name
                and (f"zone={zone}" in d.args or (d.args and d.args[0] == zone))), None)
    define = next((d for d in config.globals if d.name == def_name
                   and any(a.startswith(f"zone={zone}:") for a in d.args)), None)
    return use, define


# --- nginx.header_too_big -----------------------------------------------------------------

TOO_BIG_RE = re.compile(r"upstream sent too big header")


# --- upstream.timeout (nginx side) -------------------------------------------------------

TIMED_OUT_RE = re.compile(r"upstream timed out \(110: [^)]*\)")
TIMEOUT_DIRECTIVE = {"reading response header from upstream": "proxy_read_timeout",
                     "reading upstream": "proxy_read_timeout",
                     "sending request to upstream": "proxy_send_timeout"}


# --- upstream.timeout (gunicorn WORKER TIMEOUT) ---------------------------------------------

WORKER_TIMEOUT_RE = re.compile(r"WORKER TIMEOUT \(pid:(\d+)\)")
PREMATURE_RE = re.compile(r"upstream prematurely closed connection|recv\(\) failed \(104: ")


def _gunicorn_timeout(unit: Unit) -> tuple[int, str]:
    for argv in unit.exec_start:
        for i, arg in enumerate(argv):
            if arg in ("--timeout", "-t") and i + 1 < len(argv) and argv[i + 1].isdigit():
                return int(argv[i + 1]), f"{arg} {argv[i + 1]}"
            if arg.startswith("--timeout=") and arg[10:].isdigit():
                return int(arg[10:]), arg
    return 30, "no --timeout: gunicorn's default 30 s (unless a -c config file sets it)"


def _seconds(value: str) -> float | None:
    """nginx time (`60s`, `2m`, `500ms`, `90`) in seconds."""
    m = re.fullmatch(r"(\d+)(ms|s|m|h)?", value.strip())
    if not m:
        return None
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2) or "s"]
    return int(m.group(1)) * scale


# --- permission.socket ---------------------------------------------------------------------

SOCKET_DENIED_RE = re.compile(r"connect\(\) to unix:(\S+?) failed \(13: Permission denied\)")


def _allows(st: PathStat, user: NginxUser, bit: int) -> bool:
    """Whether user gets permission bit (4 r, 2 w, 1 x) on st by owner/group/other bits."""
    if st.mode is None:
        return True
    if user.uid == 0:
        return True
    if st.uid == user.uid:
        return bool(st.mode >> 6 & bit)
    if st.gid in user.groups:
        return bool(st.mode >> 3 & bit)
    return bool(st.mode & bit)


# --- system.fd_exhausted (nginx worker_connections / open files) ----------------------------

WORKER_CONN_RE = re.compile(r"(\d+) worker_connections are not enough|"
                            r"\(24: Too many open files\)")
