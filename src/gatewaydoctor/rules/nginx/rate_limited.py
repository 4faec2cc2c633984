"""nginx answers 503 itself: limit_req / limit_conn rejects the request before the app sees it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import NamedTuple

from ...facts import (
    ErrorLogEntry,
    Facts,
    Location,
    NginxConfig,
    NginxDirective,
    Probe,
    ServerBlock,
    location_for,
    place_links,
)
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Msg, Text, found, msg

LIMIT_RE = re.compile(r"limiting (requests|connections), (?!dry run)(?:excess: ([\d.]+) )?"
                      r"by zone \"([^\"]+)\"")


class Kind(NamedTuple):
    """One kind of limit (`limit_req`, `limit_req_zone`...), what its fix raises and how."""

    use: str
    knob: str
    raise_by: str


KINDS = {"requests": Kind("limit_req", N_("rate= in limit_req_zone, or burst="),
                          " burst=20 nodelay;"),
         "connections": Kind("limit_conn", N_("the limit_conn number"), " 100;")}


@rule(id="GD-NGX-007", symbol="rate-limited", category="nginx.rate_limited",
      severity=Severity.ERROR, layer="nginx", explains=("probe.failed",),
      title=N_("nginx's limit_req / limit_conn rejects requests (503)"),
      texts=Text(
          title="{title}",  # names {paths} and {limit} its own way, so it is filled on its own
          explanation=N_(
              "{n} request(s) to {paths} were refused by nginx itself ({limit}, set at "
              "{where}): nginx answers {status} without contacting the app, which is why the "
              "app's logs show nothing and other paths work."),
          fix=N_("Raise the limit ({knob}) or drop {directive} at {where}."),
          commands=("# {edit}", "# {edit_zone}", "{nginx_test} && {nginx_reload}")))
def rate_limited(facts: Facts, nginx_errors: tuple[ErrorLogEntry, ...],
                 nginx_config: NginxConfig, probes: tuple[Probe, ...] = ()) -> Iterator[Found]:
    """`limiting requests, excess: … by zone "z"`: nginx answers itself, the app never sees it."""
    zones: dict[tuple[str, str], list[ErrorLogEntry]] = {}
    for e in facts.since_reload(list(nginx_errors)):  # workers a reload replaced: old limits
        if m := LIMIT_RE.search(e.message):
            zones.setdefault((m.group(1), m.group(3)), []).append(e)
    url = facts.url_probe()
    for (kind, zone), lines in zones.items():
        k = KINDS[kind]
        last, server, loc = _placed(facts, nginx_config, lines, url)
        use = nginx_config.limit_at(k.use, zone, server, loc)
        define = nginx_config.zone_definition(f"{k.use}_zone", zone)
        evidence = [last.excerpt, *_directives(use, define, loc), *_probed(facts, url, probes)]
        # nginx answered before the upstream: the chain stops at the location.
        links = [Link("url", f"{url.endpoint}{url.path or '/'}")] if url else []
        status = nginx_config.setting(f"{k.use}_status", server, loc)
        told = _told(evidence, links + list(place_links(server, loc, upstream=False)), k, zone,
                     lines, define, status.args[0] if status and status.args else "503",
                     use.where if use else loc.where if loc else msg(N_("the configuration")))
        yield replace(told, values={**told.values, "at_use": use})  # what fix/ edits


def _told(evidence: list[Excerpt], links: list[Link], k: Kind, zone: str,
          lines: list[ErrorLogEntry], define: NginxDirective | None, status: str,
          where: str | Msg) -> Found:
    """The record, with the values the texts name."""
    rate = define.arg("rate=") if define else None
    name = f"{k.use} zone \"{zone}\""
    in_title, in_text = (f"{name} ({rate})", f"{name}, {rate}") if rate else (name, name)
    paths = ", ".join(dict.fromkeys(p for e in lines if (p := e.request_path)))
    return found(evidence, links, n=len(lines), status=status, limit=in_text, where=where,
                 title=msg(N_("nginx rejects {paths} with {status}: {limit}"),
                           paths=paths or msg(N_("requests")), status=status, limit=in_title),
                 paths=paths or msg(N_("this server")), knob=msg(k.knob), directive=k.use,
                 edit=msg(N_("edit {where}: {change}"), where=where,
                          change=f"{k.use} zone={zone}{k.raise_by}"),
                 edit_zone=msg(N_("or edit {where}: raise {setting}"), where=define.where,
                               setting=rate) if define and rate else None)


def _placed(facts: Facts, config: NginxConfig, lines: list[ErrorLogEntry],
            url: Probe | None) -> tuple[ErrorLogEntry, ServerBlock | None, Location | None]:
    """The line to cite and where it went: the user's URL when its location is behind this
    zone, else the newest line."""
    if url is not None and url.path:
        url_loc = location_for(config, url.path, url.host_header)
        hits = [e for e in lines if facts.place(e)[1] == url_loc]
        if hits and url_loc is not None:
            return hits[-1], config.server_of(url_loc), url_loc
    return lines[-1], *facts.place(lines[-1])


def _directives(use: NginxDirective | None, define: NginxDirective | None,
                loc: Location | None) -> list[Excerpt]:
    inside = f"in location {loc.path}" if loc is not None else "in force here"
    return [*([Excerpt(use.where, f"{use.text} ({inside})")] if use is not None else []),
            *([Excerpt(define.where, define.text)] if define is not None else [])]


def _probed(facts: Facts, url: Probe | None, probes: tuple[Probe, ...]) -> list[Excerpt]:
    """Who answered the user's URL, and a request nginx did not limit."""
    said = [Excerpt(u.where, f"{u.outcome}: answered by {facts.answered_by(u)}; the "
                    "log line names no upstream, so the app never saw it")
            for u in (url,) if u is not None and u.status is not None]
    return said + [Excerpt(p.where, f"{p.outcome} (not limited)") for p in probes
                   if p.via in ("nginx", "url") and p.status and p.status < 400][:1]
