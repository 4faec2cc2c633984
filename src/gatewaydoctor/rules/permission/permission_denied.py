"""The service user may not read or write a file the app needs (PermissionError [Errno 13]);
nginx's own `(13: Permission denied)` on a unix socket is permission.socket, elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...categories import LOOP_SYMPTOMS
from ...facts import Facts, FileStat, PathOwner, Traceback, Unit
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Text, found, msg

# What the user lacks (FileStat.blocker), as the reader reads it.
LACKS = {"search": N_("search (x)"), "read": N_("read (r)"), "write": N_("write (w)"),
         "create": N_("write (w), to create files in it")}
# The access the fix summary names: the permission alone.
ACCESS = {LACKS["create"]: LACKS["write"]}

_WHY = (N_("{unit} runs as {user}, and {target} does not give {user} {lacks} permission, so "
           "the app gets PermissionError on {path} and exits."), "{creating}", "{unknown_owner}")
_FIX = N_("Give {user} {access} access to {target}: make {user} its owner (or fix its mode), "
          "then restart.")
_COMMANDS = ("chmod o+x {search}   # {group_hint}", "chown {user}:{user} {owned}", "# {keep}",
             "sudo -u {user} test -{bit} {tested} && echo ok", "{restart}")


@rule(id="GD-PRM-001", symbol="permission-denied", category="permission.denied",
      severity=Severity.ERROR, layer="app", explains=LOOP_SYMPTOMS + ("app.startup_failed",),
      title=N_("The service user may not read or write a file the app needs"),
      texts={"default": Text(N_("{unit}: {user} may not read {path}"), _WHY, _FIX, _COMMANDS),
             "write": Text(N_("{unit}: {user} may not write {path}"), _WHY, _FIX, _COMMANDS)})
def permission_denied(facts: Facts, tracebacks: tuple[Traceback, ...]) -> Iterator[Found]:
    """PermissionError [Errno 13] from the app, with who owns the path and who the unit runs as."""
    for name in facts.tracebacks_by_unit():
        unit = facts.unit(name)
        tb = next((t for t in facts.tracebacks_latest_first(name) if t.denied_path), None)
        if tb is None or tb.denied_path is None or not facts.failing(unit):
            continue
        user, uid, gids = _user(facts, unit)
        st, blocker, owners = _stat(facts, tb.denied_path, uid, gids)
        yield found([*tb.app_excerpts, *owners, _user_line(facts, unit, user, uid, gids)],
                    [Link("unit", name), Link("log", tb.last_line)], unit=name, user=user,
                    restart=facts.restart_command_of(name),
                    **_access(st, blocker, tb.denied_path, user))


def _access(st: FileStat | None, blocker: tuple[PathOwner, str] | None, path: str,
            user: str) -> dict[str, Any]:
    """What the user lacks where, and how to give it."""
    creating = bool(st and not st.chain[0].exists)
    kind = blocker[1] if blocker else None
    write = creating or kind in ("write", "create")
    target = blocker[0].path if blocker else path
    what = LACKS[kind] if kind else N_("access")
    return dict(text="write" if write else "default", path=path, target=target,
                lacks=msg(what), access=msg(ACCESS.get(what, what)), bit="w" if write else "r",
                tested=target if creating else path, **_change(kind, target, user, write),
                **_sentences(st, creating, user))


def _sentences(st: FileStat | None, creating: bool, user: str) -> dict[str, Any]:
    """The explanation's conditional sentences: the file is to be created; no owner known."""
    return dict(
        creating=msg(N_("The file does not exist yet: the app has to create it in a directory "
                        "{user} cannot write."), user=user) if creating else None,
        unknown_owner=None if st else msg(N_("(The owner of the path was not gathered: run as "
                                             "root.)")))


def _change(kind: str | None, target: str, user: str, write: bool) -> dict[str, Any]:
    """Give the user search on a directory, or ownership (or `o+r`, to keep the owner)."""
    if kind == "search":
        return dict(search=target, group_hint=msg(N_("or give {user} group access to it"),
                                                  user=user))
    keep = msg(N_("or, to keep its owner: {command}"), command=f"chmod o+r {target}")
    return dict(owned=target, keep=None if write or kind is None else keep)


def _user(facts: Facts, unit: Unit | None) -> tuple[str, int | None, frozenset[int]]:
    """The unit's User= (root when unset), its uid and groups when the accounts are known."""
    name = (unit.user if unit else None) or "root"
    acc = facts.accounts
    if acc is None or name not in acc.users:
        return name, None, frozenset()
    return name, acc.users[name][0], acc.gids_of(name)


def _stat(facts: Facts, path: str, uid: int | None, gids: frozenset[int]) -> tuple[
        FileStat | None, tuple[PathOwner, str] | None, list[Excerpt]]:
    """Owners and modes up the path, what stops the user there (uid known), as evidence."""
    st = next((s for s in facts.file_stats or () if s.path == path), None)
    if st is None:
        return None, None, []
    blocker = st.blocker(uid, gids) if uid is not None else None
    return st, blocker, [Excerpt(st.source, o.label(facts.accounts)) for o in st.shown(blocker)]


def _user_line(facts: Facts, unit: Unit | None, user: str, uid: int | None,
               gids: frozenset[int]) -> Excerpt:
    """`User=app (uid 1500, groups app)`."""
    groups = ""
    if facts.accounts and gids:
        groups = ", groups " + ",".join(facts.accounts.group_name(g) for g in sorted(gids))
    ids = f" (uid {uid}{groups})" if uid is not None else ""
    return Excerpt(unit.source if unit else "systemd", f"User={user}{ids}")
