"""proxy_read_timeout (uwsgi_read_timeout) is shorter than the app may take: nginx gives up
and answers 504 while the app is still allowed to work on the request — gunicorn's
--timeout (default 30 s) or uWSGI's harakiri would let it finish; uvicorn and most others
set no limit on a request at all, and then nginx's own default (60 s) is the only one."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Severity
from ...formats import execspec
from ...i18n import N_
from ...rules.spec import Msg, msg
from ..model import Hit, Inputs, ServiceFile, hit
from ..registry import check
from ..view import Pass, option, passes, seconds, serving

NGINX_DEFAULT = 60.0
# The server's own limit on one request: (options, default seconds or None for none).
LIMITS = {"gunicorn": (("-t", "--timeout"), 30.0), "uwsgi": (("--harakiri",), None)}


def app_limit(s: ServiceFile) -> tuple[str, float | None]:
    """(how the server limits a request, the limit in seconds or None for no limit)."""
    names, default = LIMITS.get(s.server or "", ((), None))
    args = execspec.server_args(s.server_argv)
    for name in names:
        given = option(args, name)
        if given is not None:
            return f"{s.server} {name} {given}", seconds(given) or None
    if default is not None:
        return f"{s.server} --timeout {default:g} (default)", default
    return f"{s.server}", None


def _limit(inputs: Inputs, p: Pass) -> tuple[str | Msg, float] | None:
    """The app's limit for this location's target: its server's, else nginx's default where
    the server sets none or is unknown; None where nothing serves the target at all (that is
    upstream-mismatch, not a timeout)."""
    services = [s for ep in p.endpoints for s in serving(inputs, ep)]
    bounded = [(what, v) for what, v in map(app_limit, services) if v is not None]
    if bounded:
        return max(bounded, key=lambda x: x[1])
    if not services and _unserved(inputs, p):
        return None
    return msg(N_("nginx's default of 60s, the only limit when the app server sets none on a "
                  "request")), NGINX_DEFAULT


def _unserved(inputs: Inputs, p: Pass) -> bool:
    """Nothing binds the target while something says where the apps listen."""
    return inputs.knows_binds and not any(b.accepts(ep) for ep in p.endpoints
                                          for b in inputs.binds)


@check(id="GD-NGX-009", symbol="upstream-timeout", category="upstream.timeout",
       severity=Severity.WARNING,
       message=N_("{directive} {value} is shorter than the time the app may take on a "
                  "request ({limit}): nginx answers 504 while the app is still working on it."))
def read_timeout(inputs: Inputs) -> Iterator[Hit]:
    """Each location whose read timeout is below the app's own limit."""
    for p in passes(inputs):
        name = "uwsgi_read_timeout" if p.directive == "uwsgi_pass" else "proxy_read_timeout"
        d = p.config.setting(name, p.server, p.location)
        value = seconds(d.args[0]) if d is not None and d.args else None
        if d is None or value is None:
            continue
        limit = _limit(inputs, p)
        if limit is not None and value < limit[1]:
            yield hit((d.file, d.line), directive=name, value=d.args[0], limit=limit[0])
