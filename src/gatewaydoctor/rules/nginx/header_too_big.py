"""nginx answers 502 because the app's response headers do not fit proxy_buffer_size."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import ErrorLogEntry, Facts, Location, NginxConfig, Probe, place_links
from ...findings import Excerpt, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Text, found, msg

TOO_BIG_RE = re.compile(r"upstream sent too big header")


@rule(id="GD-NGX-008", symbol="header-too-big", category="nginx.header_too_big",
      severity=Severity.ERROR, layer="upstream", explains=("probe.failed",),
      title=N_("The app's response headers do not fit proxy_buffer_size (502)"),
      texts=Text(
          title=N_("The app's response headers for {path} are larger than proxy_buffer_size "
                   "({size})"),
          explanation=N_(
              "nginx reads the response headers of the app into one proxy_buffer_size buffer "
              "({size}). The app sends more (usually a big Set-Cookie or token header), so "
              "nginx gives up and answers 502, although the app answered. Seen {n} time(s)."),
          fix=N_("Give nginx bigger header buffers in {where}, or make the app send smaller "
                 "cookies/headers."),
          commands=("# {add}", "{nginx_test} && {nginx_reload}")))
def header_too_big(facts: Facts, nginx_errors: tuple[ErrorLogEntry, ...],
                   nginx_config: NginxConfig, probes: tuple[Probe, ...] = ()) -> Iterator[Found]:
    """`upstream sent too big header while reading response header from upstream`."""
    # Lines of workers still running: a reload with bigger buffers replaced the others.
    lines = facts.since_reload([e for e in nginx_errors if TOO_BIG_RE.search(e.message)])
    if not lines:
        return
    last = lines[-1]
    server, loc = facts.place(last)
    size, size_ex = nginx_config.in_force("proxy_buffer_size", server, loc,
                                          "4k (one memory page)")
    _bufs, bufs_ex = nginx_config.in_force("proxy_buffers", server, loc, "8 4k")
    path = last.request_path
    direct = [Excerpt(p.where, f"{p.outcome}: the app itself answers")
              for p in probes if p.via == "upstream" and p.path == path and p.status is not None]
    where = loc.where if loc is not None else msg(N_("the server block"))
    yield found([last.excerpt, size_ex, bufs_ex, *direct[:1]], place_links(server, loc),
                path=path or msg(N_("a request")), size=size, n=len(lines), where=where,
                add=msg(N_("add in {where}: {directives}"), where=where,
                        directives="proxy_buffer_size 16k; proxy_buffers 8 16k; "
                                   "proxy_busy_buffers_size 32k;"),
                at_location=loc, at_server=server, at_locations=_refused_at(facts, lines))


def _refused_at(facts: Facts, lines: list[ErrorLogEntry]) -> tuple[Location, ...]:
    """Every location whose answers nginx refused (a fix gives each its buffers)."""
    return tuple(dict.fromkeys(at for e in lines if (at := facts.place(e)[1]) is not None))
