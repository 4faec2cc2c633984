"""nginx answers 502 although the app is up: SELinux denies httpd_t the connection to it."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import AvcDenial, SelinuxState
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Cmd, Found, Msg, Text, found, msg

NGINX_DOMAINS = ("httpd_t",)
TITLE = N_("SELinux denies nginx {permissions} to {target}")
EXPLANATION = N_(
    "nginx runs as httpd_t, and the policy does not allow it {permissions} on {target}. The "
    "kernel refuses the connection (nginx logs `(13: Permission denied) while connecting to "
    "upstream`) and clients get 502, although the app is up.")
CHECK = Cmd("ausearch -m avc -c nginx -ts recent", N_("check"))


@rule(id="GD-SEC-001", symbol="selinux-denied", category="security.selinux",
      severity=Severity.ERROR, layer="nginx",
      explains=("permission.socket", "upstream.unreachable", "probe.failed"),
      title=N_("SELinux denies nginx the connection to the app"),
      texts={"default": Text(
                 TITLE, EXPLANATION,
                 fix=N_("Let nginx (httpd_t) connect to the app's port: turn on the "
                        "httpd_can_network_connect boolean, or label the port http_port_t."),
                 commands=("setsebool -P httpd_can_network_connect 1",
                           Cmd("semanage port -a -t http_port_t -p tcp {port}",
                               N_("or, narrower: let httpd_t reach only this port")),
                           CHECK)),
             "socket": Text(
                 TITLE, EXPLANATION,
                 fix=N_("Label the app's unix socket (and its directory) so httpd_t may "
                        "connect to it."),
                 commands=("semanage fcontext -a -t httpd_var_run_t '{path}'",
                           "restorecon -v {path}", CHECK))})
def selinux_denied(selinux: SelinuxState) -> Iterator[Found]:
    """`avc:  denied  { name_connect }` (or connectto / write on a socket) for httpd_t."""
    seen: set[tuple[str | None, int | None, str | None]] = set()
    for d in reversed(selinux.denials):
        key = (d.tclass, d.dest, d.path)
        if not _is_nginx(d) or d.permissive or key in seen:
            continue
        seen.add(key)
        evidence = [Excerpt(d.source, d.raw)]
        evidence += [Excerpt(selinux.source, f"SELinux is {selinux.mode}")] if selinux.mode else []
        links = [Link("log", d.raw)]
        links += [Link("upstream", f"127.0.0.1:{d.dest}")] if d.dest is not None else []
        tcp = d.tclass == "tcp_socket" or "name_connect" in d.permissions
        yield found(evidence, links, text="default" if tcp else "socket",
                    permissions=" ".join(d.permissions), target=_target(d), port=d.dest,
                    path=d.path or "<socket>")


def _is_nginx(d: AvcDenial) -> bool:
    return any(f":{t}:" in (d.scontext or "") for t in NGINX_DOMAINS) or d.comm == "nginx"


def _target(d: AvcDenial) -> Msg:
    """What was denied (`port 8000`, a socket path) and its type (`(soundd_port_t)`)."""
    context = (d.tcontext or "").split(":")
    return msg("{target}{type}", target=msg(N_("port {port}"), port=d.dest)
               if d.dest is not None else d.path or d.tclass or "?",
               type=f" ({context[2]})" if len(context) >= 3 else "")
