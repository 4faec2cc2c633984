"""nginx answers 502: its workers may not connect to the app's unix socket (13: Permission
denied), because a directory above the socket lacks +x or the socket lacks +w for them."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import Endpoint, ErrorLogEntry, Facts, NginxRuntime, PathStat, Unit, place_links
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Msg, Text, msg

SOCKET_DENIED_RE = re.compile(r"connect\(\) to unix:(\S+?) failed \(13: Permission denied\)")
# What connecting needs of each kind of path on the way: (permission bit, its name).
NEEDS = {"socket": (2, "write"), "dir": (1, "search (x)")}


@rule(id="GD-NGX-011", symbol="socket-permission", category="permission.socket",
      severity=Severity.ERROR, layer="upstream", explains=("probe.failed", "upstream.unreachable"),
      title=N_("nginx's workers may not connect to the app's unix socket"),
      texts=Text(
          title="{title}",  # names {socket} as `unix:/path`, the explanation as `/path`
          explanation=(N_(
              "nginx's workers run as {user} and get `13: Permission denied` connecting to "
              "{socket}: connecting needs +x on every directory above the socket and +w on "
              "the socket itself. The app is running; nginx answers 502."), "{selinux}"),
          fix=N_("Let {user} reach the socket: give the socket directory group {user} (or mode "
                 "0755) and the socket group write."),
          commands=("systemctl edit {drop_in}  # {note}", "# {gunicorn}", "{chmod}",
                    "{restart}")))
def socket_permission(facts: Facts, nginx_errors: tuple[ErrorLogEntry, ...],
                      nginx_runtime: NginxRuntime | None = None) -> Iterator[Found]:
    """`connect() to unix:/run/app.sock failed (13: Permission denied)`: a directory above the
    socket lacks +x, or the socket lacks +w, for nginx's user."""
    by_path: dict[str, list[ErrorLogEntry]] = {}
    for e in nginx_errors:
        if m := SOCKET_DENIED_RE.search(e.message):
            by_path.setdefault(m.group(1), []).append(e)
    for sock, lines in by_path.items():
        chain = nginx_runtime.sockets.get(sock, ()) if nginx_runtime else ()
        blocked = _blocked(chain, nginx_runtime)
        if not blocked and _superseded(nginx_errors, sock, lines[-1]):
            continue  # an old denial; nginx has connected differently since
        serving = facts.services_serving(Endpoint(path=sock))
        links = [*place_links(*facts.place(lines[-1])), Link("upstream", f"unix:{sock}"),
                 *(Link("unit", u.name) for u in serving)]
        yield _told([lines[-1].excerpt, *_chain(nginx_runtime, chain, blocked)], links,
                    nginx_runtime, sock, blocked, serving)


def _told(evidence: list[Excerpt], links: list[Link], rt: NginxRuntime | None, sock: str,
          blocked: list[tuple[PathStat, str]], serving: list[Unit]) -> Found:
    """The record, with the values the texts name."""
    who = rt.user.name if rt and rt.user else "www-data"
    return Found(tuple(evidence), tuple(links), {
        "title": _title(who, sock, blocked), "user": who, "socket": sock,
        "selinux": None if blocked else msg(N_(
            "(On SELinux systems an AVC denial gives the same error.)")),
        **_fix(serving[0] if serving else None, blocked, who, sock)})


def _blocked(chain: tuple[PathStat, ...],
             rt: NginxRuntime | None) -> list[tuple[PathStat, str]]:
    """The paths on the way that refuse nginx's user what connecting needs, and what."""
    user = rt.user if rt else None
    if user is None or user.uid is None:
        return []
    return [(st, NEEDS[st.kind][1]) for st in chain if not st.error and st.kind in NEEDS
            and not st.allows(user.uid, user.groups, NEEDS[st.kind][0])]


def _superseded(nginx_errors: tuple[ErrorLogEntry, ...], sock: str, last: ErrorLogEntry) -> bool:
    """Whether nginx logged something newer about the socket than its last denial."""
    newest = [e for e in nginx_errors
              if f"unix:{sock}" in e.message or f"unix:{sock}" in (e.upstream or "")]
    return bool(newest) and newest[-1] is not last


def _chain(rt: NginxRuntime | None, chain: tuple[PathStat, ...],
           blocked: list[tuple[PathStat, str]]) -> list[Excerpt]:
    """Who nginx's workers are, the modes on the way to the socket, and what they lack."""
    if rt is None:
        return []
    user = rt.user
    said = [Excerpt(rt.source, f"nginx workers run as {user.name} (uid {user.uid}, groups "
                               f"{', '.join(map(str, user.groups))})")] if user else []
    return [*said, *[Excerpt(rt.source, st.label) for st in chain
                     if not st.error and st.path != "/"][:4],
            *(Excerpt(rt.source, f"{user.name if user else 'nginx'} lacks {what} permission on "
                                 f"{st.path}") for st, what in blocked[:2])]


def _title(who: str, sock: str, blocked: list[tuple[PathStat, str]]) -> Msg:
    if not blocked:
        return msg(N_("nginx ({user}) may not connect to {socket}"), user=who,
                   socket=f"unix:{sock}")
    st = blocked[0][0]
    return msg(N_("nginx ({user}) may not connect to {socket}: {path} is {mode} {owner}"),
               user=who, socket=f"unix:{sock}", path=st.path, mode=st.label.split()[0],
               owner=f"{st.owner}:{st.group}")


def _fix(unit: Unit | None, blocked: list[tuple[PathStat, str]], who: str,
         sock: str) -> dict[str, object]:
    """Which fix commands apply: a drop-in for a systemd unit's RuntimeDirectory, gunicorn's
    socket options, or a chmod of the directory in the way; then its manager's restart."""
    target = blocked[0][0] if blocked else None
    restart = unit.restart_command if unit else None
    if unit and unit.manager == "systemd" and (
            target is None or target.kind == "dir" and target.path.startswith("/run/")):
        return {"drop_in": unit.name, "restart": restart, "note": msg(
            N_("[Service] {group} and {mode} (or {other})"), group=f"Group={who}",
            mode="RuntimeDirectoryMode=0750", other="RuntimeDirectoryMode=0755")}
    if target is not None and target.kind == "socket":
        return {"restart": restart, "gunicorn": msg(
            N_("run gunicorn with {options} (or {command})"),
            options=f"--group {who} --umask 007", command=f"chmod 660 {sock}")}
    return {"chmod": f"chmod o+x {target.path}" if target else f"namei -l {sock}"}
