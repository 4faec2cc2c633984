"""nginx answers 504: the app answers slower than proxy_read_timeout (or send) lets it."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import (
    Endpoint,
    ErrorLogEntry,
    Facts,
    Location,
    NginxConfig,
    Probe,
    place_links,
)
from ...facts.managers import recent_logs
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Msg, Text, msg

TIMED_OUT_RE = re.compile(r"upstream timed out \(110: [^)]*\)")
TIMEOUT_DIRECTIVE = {"reading response header from upstream": "proxy_read_timeout",
                     "reading upstream": "proxy_read_timeout",
                     "sending request to upstream": "proxy_send_timeout"}

TITLE = N_("{path} took longer than {setting}: nginx answered 504")
EXPLANATION = N_(
    "nginx waited {value} ({directive}) for {upstream} to answer {path} and gave up ({n} "
    "time(s)). The app is up but slow: a slow query, a blocking call in an async handler, or "
    "all workers busy.")
FIX = N_("Find what makes {path} slow (its logs, the database); if it is legitimately slow, "
         "raise {directive} in {where}.")
COMMANDS = ("{logs}", "# {edit}", "{nginx_test} && {nginx_reload}")


@rule(id="GD-NGX-009", symbol="upstream-timeout", category="upstream.timeout",
      severity=Severity.ERROR, layer="upstream", explains=("probe.failed",),
      title=N_("The app answers slower than nginx waits (504)"),
      # Without a request path, each template names it its own way (`_told`).
      texts={"default": Text(TITLE, EXPLANATION, FIX, COMMANDS),
             "no_path": Text("{title}", "{explanation}", "{summary}", COMMANDS)})
def upstream_timeout(facts: Facts, nginx_errors: tuple[ErrorLogEntry, ...],
                     nginx_config: NginxConfig, probes: tuple[Probe, ...] = ()) -> Iterator[Found]:
    """`upstream timed out (110: Connection timed out) while reading response header`."""
    # Those of a worker a reload has replaced were under the configuration before it.
    lines = facts.since_reload([e for e in nginx_errors if TIMED_OUT_RE.search(e.message)
                                and e.action in TIMEOUT_DIRECTIVE])
    if not lines:
        return
    last = lines[-1]
    server, loc = facts.place(last)
    name = _directive(last.action or "", loc)
    value, value_ex = nginx_config.in_force(name, server, loc, "60s")
    upstream = last.upstream_label
    serving = facts.services_serving(Endpoint.parse(upstream)) if upstream else []
    evidence = [last.excerpt, value_ex, *_probed(probes, last.request_path)]
    links = [*place_links(server, loc), *(Link("unit", u.name) for u in serving)]
    yield _told(evidence, links, last.request_path, {
        "setting": f"{name} {value}", "value": value, "directive": name, "n": len(lines),
        "upstream": upstream or msg(N_("the app")), "where": _where(loc),
        "logs": tuple(recent_logs(u) for u in serving),
        "edit": msg(N_("or edit {where}: {change}"), where=value_ex.source,
                    change=f"{name} 120s;"), "at_location": loc, "at_server": server})


def _directive(action: str, loc: Location | None) -> str:
    """The timeout nginx applied: proxy_*, or uwsgi_read/send_timeout where uwsgi_pass."""
    name = TIMEOUT_DIRECTIVE[action]
    return name.replace("proxy_", "uwsgi_", 1) if loc is not None and \
        loc.pass_name == "uwsgi_pass" else name


def _where(loc: Location | None) -> str | Msg:
    return loc.where if loc is not None else msg(N_("the server block"))


def _told(evidence: list[Excerpt], links: list[Link], path: str | None,
          values: dict[str, object]) -> Found:
    """The record; without a request path, the texts say `a request`, `the request` and
    `the handler` instead."""
    if path:
        return Found(tuple(evidence), tuple(links), {"path": path, **values})
    return Found(tuple(evidence), tuple(links), {
        **values, "title": msg(TITLE, path=msg(N_("a request")), **values),
        "explanation": msg(EXPLANATION, path=msg(N_("the request")), **values),
        "summary": msg(FIX, path=msg(N_("the handler")), **values)}, "no_path")


def _probed(probes: tuple[Probe, ...], path: str | None) -> list[Excerpt]:
    """Probes of the same path that failed or were slow, and how long they took."""
    return [Excerpt(p.where, p.outcome + (f" after {p.elapsed:.1f}s"
                                                    if p.elapsed and p.error else ""))
            for p in probes if p.path == path and p.via in ("url", "upstream")
            and (p.failed or (p.elapsed or 0) > 1)]
