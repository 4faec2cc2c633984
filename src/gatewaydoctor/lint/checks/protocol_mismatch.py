"""nginx speaks one protocol and the app's socket another: `uwsgi_pass` speaks the uwsgi
protocol, `proxy_pass` HTTP. uWSGI's `--socket` (`socket =`) serves the uwsgi protocol, its
`--http-socket` and `--http` serve HTTP; gunicorn, uvicorn and the others serve HTTP only.
Crossed, each side reads garbage and nginx answers 502 ("upstream prematurely closed
connection", "upstream sent invalid header"; uWSGI logs "invalid request block size")."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import Endpoint
from ...findings import Severity
from ...i18n import N_
from ..model import Hit, Inputs, ServiceFile, hit
from ..registry import check
from ..view import passes

# uWSGI's binding options by the protocol they serve (core/uwsgi.c, plugins/http).
UWSGI = {"--socket": "uwsgi", "-s": "uwsgi", "--uwsgi-socket": "uwsgi",
         "--http-socket": "http", "--http": "http", "--http11-socket": "http",
         "--https": "http"}
SPEAKS = {"uwsgi_pass": "uwsgi", "proxy_pass": "http"}


def _endpoint(value: str) -> Endpoint:
    """uWSGI's address forms: `:3031` (every address), `host:port`, a socket path."""
    value = value.split(",")[0]
    if value.startswith(":"):
        return Endpoint.parse("0.0.0.0" + value)
    return Endpoint.parse(value if ":" in value and not value.startswith("/")
                          else "unix:" + value)


def protocols(s: ServiceFile) -> list[tuple[Endpoint, str, str]]:
    """(where, protocol, how it is set) of each socket the service serves."""
    if s.server != "uwsgi":
        return [(b, "http", f"{s.server}") for b in s.binds]
    out = []
    args = s.server_argv
    for i, a in enumerate(args):
        name, _eq, value = a.partition("=")
        if name in UWSGI and not value and i + 1 < len(args):
            value = args[i + 1]
        if name in UWSGI and value:
            out.append((_endpoint(value), UWSGI[name], f"uwsgi {name} {value}"))
    return out


@check(id="GD-LNT-004", symbol="protocol-mismatch", category="nginx.protocol_mismatch",
       severity=Severity.ERROR,
       title=N_("nginx speaks HTTP to a uwsgi-protocol socket, or uwsgi to an HTTP one"),
       message=N_("{directive} {target} speaks {speaks} to {endpoint}, where {how} serves "
                  "{serves}: each side reads the other's bytes as garbage and nginx answers "
                  "502. Use {right}."))
def protocol_mismatch(inputs: Inputs) -> Iterator[Hit]:
    """Each pass whose protocol is not the one the socket it reaches serves."""
    served = [(ep, proto, how) for s in inputs.services for ep, proto, how in protocols(s)]
    for p in passes(inputs):
        speaks = SPEAKS[p.directive]
        for target in p.endpoints:
            wrong = [(proto, how) for ep, proto, how in served
                     if ep.accepts(target) and proto != speaks]
            if wrong:
                serves, how = wrong[0]
                right = "uwsgi_pass" if serves == "uwsgi" else "proxy_pass http://"
                yield hit((p.file, p.line), directive=p.directive, target=p.target,
                          speaks=speaks, endpoint=target.label, how=how, serves=serves,
                          right=right)
                break
