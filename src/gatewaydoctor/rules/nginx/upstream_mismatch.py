"""proxy_pass points where nothing listens, while the app is up elsewhere: they disagree."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import Endpoint, Facts, Listener, Location, NginxConfig, Process, ServerBlock
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Cmd, Found, Text, found


@rule(id="GD-NGX-003", symbol="upstream-mismatch", category="nginx.upstream_mismatch",
      severity=Severity.ERROR, layer="upstream",
      explains=("upstream.unreachable", "service.not_running", "probe.failed"),
      title=N_("proxy_pass points where nothing listens, while the app listens elsewhere"),
      texts=Text(
          title=N_("proxy_pass goes to {address}, but the app listens at {listening}"),
          explanation=N_(
              "{where} sends {path} to {address}, where nothing listens, while {who} is up "
              "at {listening}. nginx answers 502."),
          fix=N_("Make them agree: {directive} in {edit_where}, or bind the app to {address}."),
          commands=(Cmd("", N_("edit {edit_where}: {change}")),
                    "{nginx_test} && {nginx_reload}")))
def upstream_mismatch(facts: Facts, nginx_config: NginxConfig, listeners: tuple[Listener, ...],
                      processes: tuple[Process, ...]) -> Iterator[Found]:
    """The app is up, but on another port or socket than nginx's proxy_pass."""
    apps = _app_listeners(facts, listeners)
    if not apps:
        return
    for ep, uses in _elsewhere(facts, apps):
        # Prefer an app listening on the same kind of address (TCP or unix socket).
        li, who = next(((li, who) for li, who in apps
                        if (li.endpoint.path is None) == (ep.path is None)), apps[0])
        first = uses[0][1]
        new = li.endpoint.label
        if li.endpoint.host in ("0.0.0.0", "::", "*"):
            new = f"127.0.0.1:{li.endpoint.port}"
        evidence = [loc.excerpt for _s, loc in uses[:3]]
        evidence += [Excerpt(li.table, f"{who} listens at {li.endpoint.label}"),
                     Excerpt(facts.socket_table(ep), f"no listening socket at {ep.label}")]
        yield found(evidence, [Link("upstream", ep.label), *(loc.link for _s, loc in uses),
                               Link("listener", li.endpoint.label)],
                    address=ep.label, listening=li.endpoint.label, where=first.where,
                    path=first.path or "/", who=who, target_address=ep.label, new_address=new,
                    **_edit(nginx_config, ep, uses[0][1], new))


def _elsewhere(facts: Facts, apps: list[tuple[Listener, str]]
               ) -> list[tuple[Endpoint, list[tuple[ServerBlock, Location]]]]:
    """The dead targets no app listens at: an app at the very address listens in another
    network namespace than nginx's (netns-loopback tells that), not elsewhere."""
    return [(ep, uses) for ep, uses in facts.dead_targets()
            if not any(li.endpoint.accepts(ep) for li, _who in apps)]


def _edit(config: NginxConfig, ep: Endpoint, loc: Location, new: str) -> dict[str, str]:
    """What to change where: an `upstream` block's server line when the address is one,
    else the location's proxy_pass (or uwsgi_pass)."""
    group = next((g for g in config.upstreams if ep in g.servers), None)
    edit_where, directive = (f"{group.file}:{group.line}", f"server {new}") if group else \
        (loc.where, loc.pass_to(new))
    return {"edit_where": edit_where, "directive": directive, "change": f"{directive};"}


def _app_listeners(facts: Facts, listeners: tuple[Listener, ...]) -> list[tuple[Listener, str]]:
    """Sockets a Python web server listens on, with who it is: `uvicorn (pid 12, api.service)`."""
    out = []
    for li in listeners:
        for pid in li.pids:
            p = facts.process(pid)
            if p is not None and p.server not in (None, "python"):
                out.append((li, f"{p.server} (pid {p.pid}{', ' + p.unit if p.unit else ''})"))
                break
    return out
