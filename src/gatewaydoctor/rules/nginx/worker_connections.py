"""nginx answers 500 itself: its worker_connections or its open-file limit are used up."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import ErrorLogEntry, Facts, NginxConfig, NginxControl, place_links
from ...facts.nginx import PACKAGED_NGINX
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Text, found, msg

WORKER_CONN_RE = re.compile(r"(\d+) worker_connections are not enough|"
                            r"\(24: Too many open files\)")


@rule(id="GD-NGX-012", symbol="worker-connections", category="system.fd_exhausted",
      severity=Severity.ERROR, layer="nginx", explains=("probe.failed",),
      title=N_("nginx ran out of worker_connections or file descriptors"),
      texts={"default": Text(
                 title=N_("nginx's {n} worker_connections are not enough"),
                 explanation=(N_(
                     "Each worker may hold {n} connections (worker_connections, {where}); "
                     "listening sockets, clients and the upstream connections (two per proxied "
                     "request) use them up, so nginx answers 500 without reaching the app."),
                     "{seen}"),
                 fix=N_("Raise worker_connections (and worker_rlimit_nofile with it)."),
                 commands=("# {edit}", "{nginx_test} && {nginx_reload}")),
             "open_files": Text(
                 title=N_("nginx hit the open-file limit (24: Too many open files)"),
                 explanation=(N_(
                     "nginx could not open another socket: the workers' file-descriptor limit "
                     "(worker_rlimit_nofile, or LimitNOFILE= of nginx.service) is reached."),
                     "{seen}"),
                 fix=N_("Raise nginx's file-descriptor limit."),
                 # LimitNOFILE= only where a unit runs nginx (not a panel's or by hand)
                 commands=("systemctl edit {nginx_unit}  # [Service] LimitNOFILE=65535",
                           "# {rlimit}", "{nginx_restart}"))})
def worker_connections(facts: Facts, nginx_errors: tuple[ErrorLogEntry, ...],
                       nginx_config: NginxConfig) -> Iterator[Found]:
    """`N worker_connections are not enough` (500) or `(24: Too many open files)` in nginx."""
    # Lines of workers still running: a reload with more connections replaced the others.
    seen = [(e, m) for e in facts.since_reload(list(nginx_errors))
            if (m := WORKER_CONN_RE.search(e.message))]
    if not seen:
        return
    last, m = seen[-1]
    wc = nginx_config.setting("worker_connections")
    rlimit = nginx_config.setting("worker_rlimit_nofile")
    evidence = [last.excerpt]
    evidence += [Excerpt(wc.where, f"{wc.text} (in events)")] if wc is not None else []
    evidence += [Excerpt(rlimit.where, rlimit.text)] if rlimit is not None else []
    url = facts.url_probe()
    if url is not None and url.status is not None:
        evidence.append(Excerpt(url.where,
                                f"{url.outcome}: answered by {facts.answered_by(url)}"))
    where = wc.where if wc is not None else msg(N_("the events block of nginx.conf"))
    yield found(evidence, [Link("unit", "nginx.service"), *place_links(*facts.place(last))],
                text="default" if m.group(1) else "open_files",
                n=m.group(1), where=where, seen=msg(N_("Seen {n} time(s)."), n=len(seen)),
                edit=msg(N_("edit {where}: {change}"), where=where,
                         change="worker_connections 1024;"),
                rlimit=msg(N_("and in nginx.conf: {directive}"),
                           directive="worker_rlimit_nofile 65535;"),
                nginx_unit=_unit(facts.nginx_control), at_directive=wc)


def _unit(control: NginxControl | None) -> str | None:
    """The unit that runs nginx (the packaged one when how it runs is not known)."""
    unit = (control or PACKAGED_NGINX).unit
    return f"{unit}.service" if unit else None
