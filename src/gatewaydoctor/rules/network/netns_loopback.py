"""nginx proxies to a loopback address, but the app listens on the loopback of another
network namespace (Docker's trap: a container's 127.0.0.1 is its own)."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import (
    Endpoint,
    Facts,
    Listener,
    Location,
    Namespaces,
    Process,
    ServerBlock,
)
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Cmd, Found, Text, found, msg

TITLE = N_("nginx proxies to {address} in {nginx_place}, but the app listens in {app_place}")
EXPLAIN = N_("{where} sends {path} to {address}. nginx (pid {nginx_pid}) runs in {nginx_place}, "
             "where nothing listens at {address}; {who} listens at {listening} in {app_place}. "
             "Each network namespace has a loopback of its own, so nginx's connection is "
             "refused and it answers 502, though the app is up.")
CHECK = "{nginx_test} && {nginx_reload}"


@rule(id="GD-NET-002", symbol="netns-loopback", category="network.namespace",
      severity=Severity.ERROR, layer="upstream",
      explains=("upstream.unreachable", "nginx.upstream_mismatch", "service.not_running",
                "probe.failed"),
      title=N_("nginx and the app are in different network namespaces: loopback does not "
               "reach the app"),
      texts={
          "default": Text(TITLE, EXPLAIN, N_(
              "Run nginx in the app's network namespace (or the app in nginx's): remove "
              "PrivateNetwork= from the unit that isolates it, or join the other's namespace "
              "(JoinsNamespaceOf=, `ip netns exec`)."),
              (Cmd("", N_("see where each runs: ls -l /proc/{nginx_pid}/ns/net "
                          "/proc/{app_pid}/ns/net")), CHECK)),
          "nginx-in-container": Text(TITLE, EXPLAIN, N_(
              "From inside {nginx_place}, reach the host: run it with `--network host`, or "
              "proxy to the host's address on the container network (`--add-host="
              "host.docker.internal:host-gateway`, proxy_pass http://host.docker.internal:"
              "{port}) with the app bound to that network (0.0.0.0 behind a firewall)."),
              (Cmd("", N_("edit {where}: proxy_pass http://host.docker.internal:{port};")),
               CHECK)),
          "app-in-container": Text(TITLE, EXPLAIN, N_(
              "Publish the app's port to the host's loopback ({tool} run -p "
              "127.0.0.1:{port}:{port} …) and bind the app to 0.0.0.0 inside {app_place}."),
              (Cmd("", N_("recreate {app_place} with -p 127.0.0.1:{port}:{port}")),)),
          "both-in-containers": Text(TITLE, EXPLAIN, N_(
              "Put both containers on one user-defined network and proxy to the app by its "
              "container name: proxy_pass http://{app_name}:{port}; (the app bound to "
              "0.0.0.0)."),
              ("{tool} network create web && {tool} network connect web {nginx_name} "
               "&& {tool} network connect web {app_name}",
               Cmd("", N_("edit {where}: proxy_pass http://{app_name}:{port};")), CHECK)),
      })
def netns_loopback(facts: Facts, namespaces: Namespaces) -> Iterator[Found]:
    """A loopback proxy_pass target nothing listens at in nginx's namespace, while a process
    in another namespace listens at that port on its own loopback (or every address)."""
    nginx = facts.nginx_master()
    if nginx is None or nginx.netns is None:
        return
    for ep, uses in facts.dead_targets():
        hit = facts.listening_elsewhere(ep, nginx.netns) \
            if ep.path is None and ep.on_this_host else None
        if hit is not None:
            yield _found(facts, namespaces, nginx, ep, uses, *hit)


def _found(facts: Facts, namespaces: Namespaces, nginx: Process, ep: Endpoint,
           uses: list[tuple[ServerBlock, Location]], li: Listener, app: Process) -> Found:
    first = uses[0][1]
    return found(
        [loc.excerpt for _s, loc in uses[:3]] + [
            Excerpt(li.table, f"{_who(app)} listens at {li.endpoint.label} ({app.netns})"),
            Excerpt(namespaces.source, f"nginx (pid {nginx.pid}) runs in {nginx.netns}, "
                                       f"where nothing listens at {ep.label}"),
            *[e.excerpt for e in facts.refused_at(ep)[-1:]]],
        [Link("upstream", ep.label), *(loc.link for _s, loc in uses),
         Link("listener", f"{li.endpoint.label} ({app.netns})")],
        text=_variant(nginx, app), address=ep.label, port=ep.port, path=first.path or "/",
        where=first.where, nginx_pid=nginx.pid, app_pid=app.pid, who=_who(app),
        listening=li.endpoint.label, nginx_place=_place(namespaces, nginx),
        app_place=_place(namespaces, app), **_names(namespaces, nginx, app))


def _who(p: Process) -> str:
    return f"{p.server or p.comm} (pid {p.pid})"


def _place(namespaces: Namespaces, p: Process) -> object:
    box = namespaces.container(p.container)
    if box is not None:
        return box.label
    if p.netns == namespaces.own:
        return msg(N_("the host's network namespace"))
    return msg(N_("network namespace {netns}"), netns=p.netns)


def _variant(nginx: Process, app: Process) -> str:
    return {(True, True): "both-in-containers", (True, False): "nginx-in-container",
            (False, True): "app-in-container"}.get((bool(nginx.container),
                                                     bool(app.container)), "default")


def _names(namespaces: Namespaces, nginx: Process, app: Process) -> dict[str, object]:
    boxes = [namespaces.container(p.container) for p in (nginx, app)]
    runtime = next((b.runtime for b in boxes if b is not None), "docker")
    return {"tool": runtime if runtime in ("docker", "podman") else "docker",
            "nginx_name": boxes[0].name or boxes[0].id[:12] if boxes[0] else None,
            "app_name": boxes[1].name or boxes[1].id[:12] if boxes[1] else None}
