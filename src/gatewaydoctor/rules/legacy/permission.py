"""Rules about file permissions of the service user (permission.denied).

nginx's own `(13: Permission denied)` on a unix socket is permission.socket, elsewhere.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator

from ...facts import Accounts, Facts, FileStat, PathOwner, Traceback, Unit
from ...findings import Excerpt, Fix, Hit, Link, Severity
from ...i18n import N_, _, sentences
from ..registry import rule
from .common import restart_command
from .service import LOOP_SYMPTOMS, failing

DENIED_RE = re.compile(r"\[Errno 13\] Permission denied: '([^']+)'")
_FRAME_RE = re.compile(r'\s*File "([^"]+)", line (\d+)')
_LIBRARY = ("/usr/lib/python", "/usr/local/lib/python", "site-packages/", "dist-packages/", "<")


def app_frame(tb: Traceback) -> Excerpt | None:
    """The innermost frame in the app's own code (not the stdlib or an installed package)."""
    lines = tb.text.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        m = _FRAME_RE.match(lines[i])
        if m and not any(part in m.group(1) for part in _LIBRARY):
            code = lines[i + 1].strip() if i + 1 < len(lines) else ""
            return Excerpt(f"{m.group(1)}:{m.group(2)}", code or lines[i].strip())
    return None


def _denied(facts: Facts, unit: str) -> tuple[Traceback, str] | None:
    tbs = facts.tracebacks_of(unit)
    ordered = [t for t in tbs if t.origin == "journal"][::-1] + \
        [t for t in tbs if t.origin != "journal"]
    for tb in ordered:
        m = DENIED_RE.search(tb.last_line)
        if m:
            return tb, m.group(1)
    return None


def _owner(o: PathOwner, accounts: Accounts | None) -> str:
    if not o.exists or o.mode is None:
        return f"{o.path}: does not exist"
    user = accounts.user_name(o.uid) if accounts else str(o.uid)
    group = accounts.group_name(o.gid) if accounts else str(o.gid)
    kind = "directory" if stat.S_ISDIR(o.mode) else "file"
    return (f"{o.path}: {kind} owned by {user}:{group}, mode "
            f"{stat.S_IMODE(o.mode):04o} ({stat.filemode(o.mode)[1:]})")


def _bits(o: PathOwner, uid: int | None, gids: frozenset[int]) -> int:
    """The rwx bits (0..7) that apply to this user on o (root is not modelled: it would pass)."""
    mode = o.mode or 0
    if uid is not None and o.uid == uid:
        return (mode >> 6) & 7
    if o.gid in gids:
        return (mode >> 3) & 7
    return mode & 7


def _blocker(st: FileStat, uid: int | None, gids: frozenset[int]) -> tuple[PathOwner, str] | None:
    """The path that stops the user, and what it lacks (`read`, `write`, `search`)."""
    existing = [o for o in st.chain if o.exists]
    for o in reversed(existing[1:] if existing and existing[0].path == st.path else existing):
        if stat.S_ISDIR(o.mode or 0) and not _bits(o, uid, gids) & 1:
            return o, N_("search (x)")
    target = st.chain[0] if st.chain else None
    if target is not None and target.exists:
        bits = _bits(target, uid, gids)
        if not bits & 4:
            return target, N_("read (r)")
        if not bits & 2:
            return target, N_("write (w)")
        return None
    parent = existing[0] if existing else None
    if parent is not None and not _bits(parent, uid, gids) & 2:
        return parent, N_("write (w), to create files in it")
    return None


def _user(facts: Facts, unit: Unit | None) -> tuple[str, int | None, frozenset[int]]:
    name = (unit.user if unit else None) or "root"
    acc = facts.accounts
    if acc is None or name not in acc.users:
        return name, None, frozenset()
    return name, acc.users[name][0], acc.gids_of(name)


@rule(id="GD-PRM-001", symbol="permission-denied", category="permission.denied",
      severity=Severity.ERROR, needs=("tracebacks",), layer="app",
      explains=LOOP_SYMPTOMS + ("app.startup_failed",),
      title=N_("The service user may not read or write a file the app needs"))
def permission_denied(facts: Facts) -> Iterator[Hit]:
    """PermissionError [Errno 13] from the app, with who owns the path and who the unit runs as."""
    for unit_name in dict.fromkeys(t.unit for t in facts.tracebacks or () if t.unit):
        unit = facts.unit(unit_name)
        if unit is not None and not failing(facts, unit):
            continue
        found = _denied(facts, unit_name)
        if found is None:
            continue
        tb, path = found
        user, uid, gids = _user(facts, unit)
        evidence = [Excerpt(tb.source, tb.last_line)]
        frame = app_frame(tb)
        if frame:
            evidence.append(frame)
        st = next((s for s in facts.file_stats or () if s.path == path), None)
        blocker = _blocker(st, uid, gids) if st is not None and uid is not None else None
        if st is not None:
            existing = [o for o in st.chain if o.exists]
            shown = existing[:1] if st.chain[0].exists else [st.chain[0], *existing[:1]]
            if blocker and blocker[0] not in shown:
                shown.append(blocker[0])
            evidence += [Excerpt(st.source, _owner(o, facts.accounts)) for o in shown]
        groups = ""
        if facts.accounts and gids:
            groups = ", groups " + ",".join(facts.accounts.group_name(g) for g in sorted(gids))
        evidence.append(Excerpt(unit.source if unit else "systemd",
                                f"User={user}" + (f" (uid {uid}{groups})" if uid is not None
                                                  else "")))
        target = blocker[0].path if blocker else path
        lacks = blocker[1] if blocker else N_("access")
        creating = bool(st and not st.chain[0].exists)
        write = creating or lacks.startswith("write")
        change: tuple[str, ...]
        if blocker and blocker[1].startswith("search"):
            change = (f"chmod o+x {target}   # "
                      + _("or give {user} group access to it").format(user=user),)
        elif write or not blocker:
            change = (f"chown {user}:{user} {target}",)
        else:
            change = (f"chown {user}:{user} {target}",
                      "# " + _("or, to keep its owner: {command}").format(
                          command=f"chmod o+r {target}"))
        yield Hit(
            title=(_("{unit}: {user} may not write {path}") if write else
                   _("{unit}: {user} may not read {path}")).format(
                       unit=unit_name, user=user, path=path),
            evidence=tuple(evidence),
            explanation=sentences(
                _("{unit} runs as {user}, and {target} does not give {user} {lacks} "
                  "permission, so the app gets PermissionError on {path} and exits.").format(
                      unit=unit_name, user=user, target=target, lacks=_(lacks), path=path),
                _("The file does not exist yet: the app has to create it in a directory "
                  "{user} cannot write.").format(user=user) if creating else "",
                "" if st else _("(The owner of the path was not gathered: run as root.)"),
            ),
            fix=Fix(
                summary=_("Give {user} {access} access to {target}: make {user} its owner (or "
                          "fix its mode), then restart.").format(
                              user=user, access=_(lacks).split(",")[0],
                              target=target),
                commands=(*change,
                          f"sudo -u {user} test -{'w' if write else 'r'} "
                          f"{target if creating else path} && echo ok",
                          restart_command(unit_name)),
            ),
            links=(Link("unit", unit_name), Link("log", tb.last_line)),
        )
