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
from .common import unit_links, units_serving
from .probe import answered_by


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


def _app_listeners(facts: Facts) -> list[tuple[Listener, str]]:
    out = []
    for li in facts.listeners or ():
        for pid in li.pids:
            p = facts.process(pid)
            if p is not None and p.server not in (None, "python"):
                out.append((li, f"{p.server} (pid {p.pid}{', ' + p.unit if p.unit else ''})"))
                break
    return out


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


# --- nginx.upstream_address_family ----------------------------------------------------

CONNECT_FAILED_RE = re.compile(r"connect\(\) (?:to \S+ )?failed \((\d+): ([^)]*)\)")


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


@rule(id="GD-NGX-007", symbol="rate-limited", category="nginx.rate_limited",
      severity=Severity.ERROR, needs=("nginx_errors", "nginx_config"), layer="nginx",
      explains=("probe.failed",),
      title=N_("nginx's limit_req / limit_conn rejects requests (503)"))
def rate_limited(facts: Facts) -> Iterator[Hit]:
    """`limiting requests, excess: … by zone "z"`: nginx answers itself, the app never sees it."""
    zones: dict[tuple[str, str], list[ErrorLogEntry]] = {}
    for e, m in _errors(facts, LIMIT_RE):
        zones.setdefault((m.group(1), m.group(3)), []).append(e)
    url = _url_probe(facts)
    for (kind, zone), lines in zones.items():
        last = lines[-1]
        server, loc = _place(facts, last)
        if url is not None and url.path and facts.nginx_config is not None:
            # Prefer the URL the user gave when its location is behind this zone.
            url_loc = location_for(facts.nginx_config, url.path, url.host_header)
            hits = [e for e in lines if _place(facts, e)[1] == url_loc]
            if hits and url_loc is not None:
                last, loc = hits[-1], url_loc
                server = facts.nginx_config.server_of(url_loc)
        use, define = _zone_directives(facts, kind, zone, server, loc)
        paths = ", ".join(dict.fromkeys(p for e in lines if (p := _request_path(e))))
        evidence = [Excerpt(last.where, last.raw)]
        if use is not None:
            inside = f"in location {loc.path}" if loc is not None else "in force here"
            evidence.append(Excerpt(use.where, f"{use.text} ({inside})"))
        if define is not None:
            evidence.append(Excerpt(define.where, define.text))
        status_name = "limit_req_status" if kind == "requests" else "limit_conn_status"
        status_d = (facts.nginx_config.setting(status_name, server, loc)
                    if facts.nginx_config else None)
        status = status_d.args[0] if status_d and status_d.args else "503"
        if url is not None and url.status is not None:
            evidence.append(Excerpt(f"probe {url.label}",
                                    f"{url.outcome}: answered by {answered_by(facts, url)}; the "
                                    "log line names no upstream, so the app never saw it"))
        ok = [p for p in facts.probes or () if p.via in ("nginx", "url") and p.status
              and p.status < 400]
        if ok:
            evidence.append(Excerpt(f"probe {ok[0].label}", f"{ok[0].outcome} (not limited)"))
        rate = next((a for a in (define.args if define else ()) if a.startswith("rate=")), None)
        where = use.where if use is not None else (loc.where if loc else _("the configuration"))
        what = "limit_req" if kind == "requests" else "limit_conn"
        knob = (_("rate= in limit_req_zone, or burst=") if kind == "requests"
                else _("the limit_conn number"))
        limit = f"{what} zone \"{zone}\"" + (f", {rate}" if rate else "")
        yield Hit(
            title=_("nginx rejects {paths} with {status}: {limit}").format(
                paths=paths or _("requests"), status=status,
                limit=f"{what} zone \"{zone}\"" + (f" ({rate})" if rate else "")),
            evidence=tuple(evidence),
            explanation=_(
                "{n} request(s) to {paths} were refused by nginx itself ({limit}, set at "
                "{where}): nginx answers {status} without contacting the app, which is why the "
                "app's logs show nothing and other paths work."
            ).format(n=len(lines), paths=paths or _("this server"), limit=limit, where=where,
                     status=status),
            fix=_reload_fix(
                _("Raise the limit ({knob}) or drop {directive} at {where}.").format(
                    knob=knob, directive=what, where=where),
                "# " + _("edit {where}: {change}").format(
                    where=where, change=f"{what} zone={zone}"
                    + (" burst=20 nodelay;" if kind == "requests" else " 100;")),
                *(("# " + _("or edit {where}: raise {setting}").format(
                    where=define.where, setting=rate),) if define and rate else ())),
            # nginx answered before the upstream: the chain stops at the location.
            links=((Link("url", f"{url.endpoint}{url.path or '/'}"),) if url else ())
            + _loc_links(server, loc, upstream=False),
        )


# --- nginx.header_too_big -----------------------------------------------------------------

TOO_BIG_RE = re.compile(r"upstream sent too big header")


@rule(id="GD-NGX-008", symbol="header-too-big", category="nginx.header_too_big",
      severity=Severity.ERROR, needs=("nginx_errors", "nginx_config"), layer="upstream",
      explains=("probe.failed",),
      title=N_("The app's response headers do not fit proxy_buffer_size (502)"))
def header_too_big(facts: Facts) -> Iterator[Hit]:
    """`upstream sent too big header while reading response header from upstream`."""
    lines = [e for e, _m in _errors(facts, TOO_BIG_RE)]
    if not lines:
        return
    last = lines[-1]
    server, loc = _place(facts, last)
    size, size_ex = _setting(facts, "proxy_buffer_size", server, loc, "4k (one memory page)")
    _bufs, bufs_ex = _setting(facts, "proxy_buffers", server, loc, "8 4k")
    evidence = [Excerpt(last.where, last.raw), size_ex, bufs_ex]
    path = _request_path(last)
    direct = [p for p in facts.probes or () if p.via == "upstream" and p.path == path
              and p.status is not None]
    if direct:
        evidence.append(Excerpt(f"probe {direct[0].label}",
                                f"{direct[0].outcome}: the app itself answers"))
    where = loc.where if loc is not None else _("the server block")
    yield Hit(
        title=_("The app's response headers for {path} are larger than proxy_buffer_size "
                "({size})").format(path=path or _("a request"), size=size),
        evidence=tuple(evidence),
        explanation=_(
            "nginx reads the response headers of the app into one proxy_buffer_size buffer "
            "({size}). The app sends more (usually a big Set-Cookie or token header), so nginx "
            "gives up and answers 502, although the app answered. Seen {n} time(s)."
        ).format(size=size, n=len(lines)),
        fix=_reload_fix(
            _("Give nginx bigger header buffers in {where}, or make the app send smaller "
              "cookies/headers.").format(where=where),
            "# " + _("add in {where}: {directives}").format(
                where=where, directives="proxy_buffer_size 16k; proxy_buffers 8 16k; "
                "proxy_busy_buffers_size 32k;")),
        links=_loc_links(server, loc),
    )


# --- upstream.timeout (nginx side) -------------------------------------------------------

TIMED_OUT_RE = re.compile(r"upstream timed out \(110: [^)]*\)")
TIMEOUT_DIRECTIVE = {"reading response header from upstream": "proxy_read_timeout",
                     "reading upstream": "proxy_read_timeout",
                     "sending request to upstream": "proxy_send_timeout"}


@rule(id="GD-NGX-009", symbol="upstream-timeout", category="upstream.timeout",
      severity=Severity.ERROR, needs=("nginx_errors", "nginx_config"), layer="upstream",
      explains=("probe.failed",),
      title=N_("The app answers slower than nginx waits (504)"))
def upstream_timeout(facts: Facts) -> Iterator[Hit]:
    """`upstream timed out (110: Connection timed out) while reading response header`."""
    lines = [e for e, _m in _errors(facts, TIMED_OUT_RE) if e.action in TIMEOUT_DIRECTIVE]
    if not lines:
        return
    last = lines[-1]
    name = TIMEOUT_DIRECTIVE[last.action or ""]
    server, loc = _place(facts, last)
    value, value_ex = _setting(facts, name, server, loc, "60s")
    path = _request_path(last)
    evidence = [Excerpt(last.where, last.raw), value_ex]
    for p in facts.probes or ():
        if p.path == path and p.via in ("url", "upstream") and (p.failed or (p.elapsed or 0) > 1):
            evidence.append(_probe_excerpt(p))
    upstream = _upstream_label(last.upstream)
    serving = units_serving(facts, Endpoint.parse(upstream)) if upstream else []
    where = loc.where if loc is not None else _("the server block")
    yield Hit(
        title=_("{path} took longer than {setting}: nginx answered 504").format(
            path=path or _("a request"), setting=f"{name} {value}"),
        evidence=tuple(evidence),
        explanation=_(
            "nginx waited {value} ({directive}) for {upstream} to answer {path} and gave up "
            "({n} time(s)). The app is up but slow: a slow query, a blocking call in an async "
            "handler, or all workers busy."
        ).format(value=value, directive=name, upstream=upstream or _("the app"),
                 path=path or _("the request"), n=len(lines)),
        fix=Fix(
            summary=_("Find what makes {path} slow (its logs, the database); if it is "
                      "legitimately slow, raise {directive} in {where}.").format(
                          path=path or _("the handler"), directive=name, where=where),
            commands=(*(f"journalctl -u {u.name} --since -10min --no-pager" for u in serving),
                      "# " + _("or edit {where}: {change}").format(
                          where=value_ex.source, change=f"{name} 120s;"),
                      "nginx -t && systemctl reload nginx"),
        ),
        links=_loc_links(server, loc) + unit_links(serving),
    )


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


@rule(id="GD-NGX-010", symbol="gunicorn-worker-timeout", category="upstream.timeout",
      severity=Severity.ERROR, needs=("journal", "units"), layer="app",
      explains=("probe.failed", "upstream.unreachable"),
      title=N_("gunicorn killed a worker that did not answer within --timeout"))
def gunicorn_worker_timeout(facts: Facts) -> Iterator[Hit]:
    """`[CRITICAL] WORKER TIMEOUT (pid:N)`: the request in flight dies; nginx sees the
    connection close (502) or times out first (504)."""
    for unit in facts.web_units():
        entries = [e for e in facts.journal_of(unit.name) if WORKER_TIMEOUT_RE.search(e.message)]
        if not entries:
            continue
        last = entries[-1]
        pid = WORKER_TIMEOUT_RE.search(last.message)
        seconds, how = _gunicorn_timeout(unit)
        evidence = [Excerpt(last.source, last.message)]
        killed = [e for e in facts.journal_of(unit.name)
                  if pid and f"(pid:{pid.group(1)}) was sent" in e.message]
        evidence += [Excerpt(e.source, e.message) for e in killed[-1:]]
        evidence.append(Excerpt(unit.source, f"ExecStart: {how}"))
        eps = {b.label for b in unit.binds}
        nginx = [e for e, _m in _errors(facts, PREMATURE_RE) if _upstream_label(e.upstream) in eps]
        server = loc = None
        if nginx:
            evidence.append(Excerpt(nginx[-1].where, nginx[-1].raw))
            server, loc = _place(facts, nginx[-1])
        order = ""
        if loc is not None:
            value, ex = _setting(facts, "proxy_read_timeout", server, loc, "60s")
            evidence.append(ex)
            secs = _seconds(value)
            if secs is not None:
                order = (_("gunicorn's --timeout ({seconds}s) is shorter than nginx's "
                           "proxy_read_timeout ({value}), so the worker dies first: 502, not "
                           "504.") if seconds < secs else
                         _("nginx's proxy_read_timeout ({value}) is shorter than gunicorn's "
                           "--timeout ({seconds}s): clients get 504 first.")).format(
                               seconds=seconds, value=value)
        yield Hit(
            title=_("gunicorn WORKER TIMEOUT in {unit}: a request ran longer than --timeout "
                    "{seconds}s and its worker was killed").format(unit=unit.name,
                                                                  seconds=seconds),
            evidence=tuple(evidence),
            explanation=sentences(_(
                "gunicorn's master ({unit}) killed worker {pid} because it sent no heartbeat "
                "for {seconds}s ({n} time(s)). The request it was serving dies with it, so "
                "nginx sees the connection close (`upstream prematurely closed connection`, "
                "502). With an async worker this means blocking code (time.sleep, a sync DB "
                "driver) inside `async def`."
            ).format(unit=unit.name, pid=pid.group(1) if pid else "?", seconds=seconds,
                     n=len(entries)), order),
            fix=Fix(
                summary=_("Make the slow handler non-blocking (plain `def`, or run the "
                          "blocking call in a thread), or raise gunicorn's --timeout in "
                          "{unit}.").format(unit=unit.name),
                commands=(f"journalctl -u {unit.name} --since -10min --no-pager | "
                          "grep -B5 'WORKER TIMEOUT'",
                          f"systemctl edit {unit.name}  # ExecStart=... --timeout 120 ...",
                          f"systemctl restart {unit.name}"),
            ),
            links=(Link("unit", unit.name), *_loc_links(server, loc)),
        )


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


@rule(id="GD-NGX-011", symbol="socket-permission", category="permission.socket",
      severity=Severity.ERROR, needs=("nginx_errors",), layer="upstream",
      explains=("probe.failed", "upstream.unreachable"),
      title=N_("nginx's workers may not connect to the app's unix socket"))
def socket_permission(facts: Facts) -> Iterator[Hit]:
    """`connect() to unix:/run/app.sock failed (13: Permission denied)`: a directory above the
    socket lacks +x, or the socket lacks +w, for nginx's user."""
    by_path: dict[str, list[ErrorLogEntry]] = {}
    for e, m in _errors(facts, SOCKET_DENIED_RE):
        by_path.setdefault(m.group(1), []).append(e)
    rt = facts.nginx_runtime
    for sock, lines in by_path.items():
        newest = [e for e in facts.nginx_errors or () if f"unix:{sock}" in e.message
                  or f"unix:{sock}" in (e.upstream or "")]
        chain = rt.sockets.get(sock, ()) if rt is not None else ()
        user = rt.user if rt is not None else None
        blocked: list[tuple[PathStat, str]] = []
        if user is not None and user.uid is not None:
            for st in chain:
                if st.error:
                    continue
                if st.kind == "socket" and not _allows(st, user, 2):
                    blocked.append((st, "write"))
                elif st.kind == "dir" and not _allows(st, user, 1):
                    blocked.append((st, "search (x)"))
        if not blocked and newest and newest[-1] is not lines[-1]:
            continue  # an old denial; nginx has connected differently since
        last = lines[-1]
        evidence = [Excerpt(last.where, last.raw)]
        if user is not None and rt is not None:
            evidence.append(Excerpt(rt.source, f"nginx workers run as {user.name} (uid "
                                    f"{user.uid}, groups {', '.join(map(str, user.groups))})"))
        evidence += [Excerpt(rt.source if rt else "stat", st.label) for st in chain
                     if not st.error and st.path != "/"][:4]
        for st, what in blocked[:2]:
            evidence.append(Excerpt(rt.source if rt else "stat",
                                    f"{user.name if user else 'nginx'} lacks {what} permission "
                                    f"on {st.path}"))
        serving = units_serving(facts, Endpoint(path=sock))
        unit = serving[0].name if serving else None
        target = blocked[0][0] if blocked else None
        runtime_dir = (target is not None and target.kind == "dir"
                       and target.path.startswith("/run/"))
        who = user.name if user else "www-data"
        if unit and (runtime_dir or target is None):
            commands: tuple[str, ...] = (
                f"systemctl edit {unit}  # "
                + _("[Service] {group} and {mode} (or {other})").format(
                    group=f"Group={who}", mode="RuntimeDirectoryMode=0750",
                    other="RuntimeDirectoryMode=0755"),
                f"systemctl restart {unit}")
        elif target is not None and target.kind == "socket":
            commands = ("# " + _("run gunicorn with {options} (or {command})").format(
                            options=f"--group {who} --umask 007", command=f"chmod 660 {sock}"),
                        *((f"systemctl restart {unit}",) if unit else ()))
        else:
            commands = (f"chmod o+x {target.path}" if target else f"namei -l {sock}",)
        yield Hit(
            title=(_("nginx ({user}) may not connect to {socket}: {path} is {mode} {owner}")
                   if blocked else _("nginx ({user}) may not connect to {socket}")).format(
                user=who, socket=f"unix:{sock}",
                path=blocked[0][0].path if blocked else "",
                mode=blocked[0][0].label.split()[0] if blocked else "",
                owner=f"{blocked[0][0].owner}:{blocked[0][0].group}" if blocked else ""),
            evidence=tuple(evidence),
            explanation=sentences(
                _("nginx's workers run as {user} and get `13: Permission denied` connecting to "
                  "{socket}: connecting needs +x on every directory above the socket and +w on "
                  "the socket itself. The app is running; nginx answers 502.").format(
                      user=who, socket=sock),
                "" if blocked else
                _("(On SELinux systems an AVC denial gives the same error.)")),
            fix=Fix(summary=_("Let {user} reach the socket: give the socket directory group "
                              "{user} (or mode 0755) and the socket group write.").format(
                                  user=who), commands=commands),
            links=(*_loc_links(*_place(facts, last)), Link("upstream", f"unix:{sock}"),
                   *unit_links(serving)),
        )


# --- system.fd_exhausted (nginx worker_connections / open files) ----------------------------

WORKER_CONN_RE = re.compile(r"(\d+) worker_connections are not enough|"
                            r"\(24: Too many open files\)")


@rule(id="GD-NGX-012", symbol="worker-connections", category="system.fd_exhausted",
      severity=Severity.ERROR, needs=("nginx_errors", "nginx_config"), layer="nginx",
      explains=("probe.failed",),
      title=N_("nginx ran out of worker_connections or file descriptors"))
def worker_connections(facts: Facts) -> Iterator[Hit]:
    """`N worker_connections are not enough` (500) or `(24: Too many open files)` in nginx."""
    found = _errors(facts, WORKER_CONN_RE)
    if not found:
        return
    last, m = found[-1]
    config = facts.nginx_config
    wc = config.setting("worker_connections") if config else None
    rlimit = config.setting("worker_rlimit_nofile") if config else None
    evidence = [Excerpt(last.where, last.raw)]
    if wc is not None:
        evidence.append(Excerpt(wc.where, f"{wc.text} (in events)"))
    if rlimit is not None:
        evidence.append(Excerpt(rlimit.where, rlimit.text))
    url = _url_probe(facts)
    if url is not None and url.status is not None:
        evidence.append(Excerpt(f"probe {url.label}", f"{url.outcome}: answered by "
                                f"{answered_by(facts, url)}"))
    where = wc.where if wc is not None else _("the events block of nginx.conf")
    if m.group(1):
        title = _("nginx's {n} worker_connections are not enough").format(n=m.group(1))
        why = _("Each worker may hold {n} connections (worker_connections, {where}); "
                "listening sockets, clients and the upstream connections (two per proxied "
                "request) use them up, so nginx answers 500 without reaching the app.").format(
                    n=m.group(1), where=where)
        fix = _reload_fix(_("Raise worker_connections (and worker_rlimit_nofile with it)."),
                          "# " + _("edit {where}: {change}").format(
                              where=where, change="worker_connections 1024;"))
    else:
        title = _("nginx hit the open-file limit (24: Too many open files)")
        why = _("nginx could not open another socket: the workers' file-descriptor limit "
                "(worker_rlimit_nofile, or LimitNOFILE= of nginx.service) is reached.")
        fix = Fix(summary=_("Raise nginx's file-descriptor limit."),
                  commands=("systemctl edit nginx.service  # [Service] LimitNOFILE=65535",
                            "# " + _("and in nginx.conf: {directive}").format(
                                directive="worker_rlimit_nofile 65535;"),
                            "systemctl restart nginx"))
    yield Hit(title=title, evidence=tuple(evidence),
              explanation=sentences(why, _("Seen {n} time(s).").format(n=len(found))), fix=fix,
              links=(Link("unit", "nginx.service"), *(_loc_links(*_place(facts, last)))))
