"""A location proxy_passes without setting Host, X-Forwarded-For and X-Forwarded-Proto.
nginx sends `Host: $proxy_host` (the upstream's address) and no client address or scheme
unless told (ngx_http_proxy_module), so the app builds redirects and its docs' URLs for
http://127.0.0.1:8000, rejects the host (Django's ALLOWED_HOSTS: 400), and logs nginx as
every client. proxy_set_header is inherited only by a level that sets none of its own."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import NginxConfig, NginxDirective
from ...findings import Severity
from ...i18n import N_
from ...rules.spec import msg
from ..model import Hit, Inputs, hit
from ..registry import check
from ..view import Pass, passes

NEEDED = ("Host", "X-Forwarded-For", "X-Forwarded-Proto")
# What the app gets wrong without each header.
WITHOUT = {
    "Host": N_("Without Host the app sees nginx's upstream address (such as 127.0.0.1:8000) as "
               "its host name: its redirects and absolute URLs point there, and a framework "
               "that checks host names (Django's ALLOWED_HOSTS) answers 400."),
    "X-Forwarded-For": N_("Without X-Forwarded-For every client is nginx to the app: its logs "
                          "and any per-client limit see one address."),
    "X-Forwarded-Proto": N_("Without X-Forwarded-Proto the app believes every request came "
                            "over http: behind TLS its redirects and docs URLs use http://."),
}


def _in_force(p: Pass) -> tuple[NginxDirective, ...]:
    """The proxy_set_header directives in force at the location (nginx's array inheritance:
    the nearest level that has any)."""
    config: NginxConfig = p.config
    for level in (p.location.directives, p.server.directives,
                  tuple(d for d in config.globals if d.context == "http")):
        found = tuple(d for d in level if d.name == "proxy_set_header" and d.args)
        if found:
            return found
    return ()


def _judged(p: Pass, inputs: Inputs) -> bool:
    """An HTTP proxy_pass whose blocks include nothing lint could not read (it may set them)."""
    return p.directive == "proxy_pass" and not {
        (p.location.file, p.location.line), (p.server.file, p.server.line)} & inputs.opaque


@check(id="GD-LNT-003", symbol="proxy-headers-missing", category="nginx.proxy_headers",
       severity=Severity.WARNING,
       title=N_("A location proxies to the app without the Host and X-Forwarded-* headers"),
       message=(N_("location {location} proxies to {target} without proxy_set_header "
                   "{missing}."), "{consequences}"))
def proxy_headers(inputs: Inputs) -> Iterator[Hit]:
    """Each proxy_pass location (HTTP to an app) missing one of the headers."""
    for p in passes(inputs):
        if not _judged(p, inputs):
            continue
        have = {d.args[0].lower() for d in _in_force(p)}
        missing = [h for h in NEEDED if h.lower() not in have]
        if missing:
            yield hit((p.location.file, p.location.line), location=p.location.path or "/",
                      target=p.target, missing=", ".join(missing),
                      consequences=tuple(msg(WITHOUT[h]) for h in missing))
