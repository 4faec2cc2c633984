"""Rules about security modules: SELinux denying nginx the connection to the app."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import AvcDenial, Facts
from ...findings import Excerpt, Fix, Hit, Link, Severity
from ...i18n import N_, _
from ..registry import rule

NGINX_DOMAINS = ("httpd_t",)
PORT_TYPES = {8000: "soundd_port_t", 8080: "http_cache_port_t"}


def _is_nginx(d: AvcDenial) -> bool:
    return any(f":{t}:" in (d.scontext or "") for t in NGINX_DOMAINS) or d.comm == "nginx"


def _fix(d: AvcDenial) -> Fix:
    if d.tclass == "tcp_socket" or "name_connect" in d.permissions:
        port = d.dest
        commands = ["setsebool -P httpd_can_network_connect 1"]
        if port is not None:
            commands.append(f"semanage port -a -t http_port_t -p tcp {port}   # "
                            + _("or, narrower: let httpd_t reach only this port"))
        commands.append("ausearch -m avc -c nginx -ts recent   # " + _("check"))
        return Fix(summary=_("Let nginx (httpd_t) connect to the app's port: turn on the "
                             "httpd_can_network_connect boolean, or label the port "
                             "http_port_t."),
                   commands=tuple(commands))
    path = d.path or "<socket>"
    return Fix(summary=_("Label the app's unix socket (and its directory) so httpd_t may "
                         "connect to it."),
               commands=(f"semanage fcontext -a -t httpd_var_run_t '{path}'",
                         f"restorecon -v {path}",
                         "ausearch -m avc -c nginx -ts recent   # " + _("check")))


@rule(id="GD-SEC-001", symbol="selinux-denied", category="security.selinux",
      severity=Severity.ERROR, needs=("selinux",), layer="nginx",
      explains=("permission.socket", "upstream.unreachable", "probe.failed"),
      title=N_("SELinux denies nginx the connection to the app"))
def selinux_denied(facts: Facts) -> Iterator[Hit]:
    """`avc:  denied  { name_connect }` (or connectto / write on a socket) for httpd_t."""
    state = facts.selinux
    assert state is not None
    seen: set[tuple[str | None, int | None, str | None]] = set()
    for d in reversed(state.denials):
        if not _is_nginx(d) or d.permissive:
            continue
        key = (d.tclass, d.dest, d.path)
        if key in seen:
            continue
        seen.add(key)
        target = (_("port {port}").format(port=d.dest) if d.dest is not None
                  else d.path or d.tclass or "?")
        port_type = f" ({d.tcontext.split(':')[2]})" if d.tcontext and \
            d.tcontext.count(":") >= 2 else ""
        evidence = [Excerpt(d.source, d.raw)]
        if state.mode:
            evidence.append(Excerpt(state.source, f"SELinux is {state.mode}"))
        links = [Link("log", d.raw)]
        if d.dest is not None:
            links.append(Link("upstream", f"127.0.0.1:{d.dest}"))
        yield Hit(
            title=_("SELinux denies nginx {permissions} to {target}").format(
                permissions=" ".join(d.permissions), target=f"{target}{port_type}"),
            evidence=tuple(evidence),
            explanation=_(
                "nginx runs as httpd_t, and the policy does not allow it {permissions} on "
                "{target}. The kernel refuses the connection (nginx logs `(13: Permission "
                "denied) while connecting to upstream`) and clients get 502, although the app "
                "is up."
            ).format(permissions=" ".join(d.permissions), target=f"{target}{port_type}"),
            fix=_fix(d),
            links=tuple(links),
        )
