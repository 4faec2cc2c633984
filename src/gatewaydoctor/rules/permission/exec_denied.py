"""systemd may not execute ExecStart or enter WorkingDirectory as the unit's user: the path
is there, its mode (or a parent directory's x bit) is wrong. 203/EXEC or 200/CHDIR with
`Permission denied` is a permission to give, not a path to create."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ...categories import LOOP_SYMPTOMS
from ...facts import Facts, JournalEntry, Unit, last_matching
from ...facts.signatures import CHDIR_DENIED_RE, EXEC_DENIED_RE
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Text, found, msg

TEXT = {"exec": "default", "chdir": "chdir"}
EXIT_RES = {"exec": re.compile(r"status=203/EXEC\b"), "chdir": re.compile(r"status=200/CHDIR\b")}
_WHY = (N_("{path} is there, but systemd, acting as {user}, may not {verb} it: {what} lacks "
           "the x bit for {user}."), "{noexec}", N_(
           "{code} is systemd's own exit code: the app never ran. Nothing is missing, so "
           "recreating the path would not help: give the permission."), "{blocker_note}")
_FIX = N_("Give {user} the x permission on {target} (chmod, or chown it to {user}), then "
          "restart {unit}.")
_COMMANDS = ("namei -l {path}", "chmod {bits} {target}", "# {chown}",
             "sudo -u {user} test -x {path} && echo ok", "{restart}")


@rule(id="GD-PRM-002", symbol="exec-denied", category="permission.denied",
      severity=Severity.ERROR, layer="unit",
      explains=LOOP_SYMPTOMS + ("app.startup_failed", "service.exec_missing",
                                "service.workdir_missing"),
      title=N_("systemd may not execute ExecStart or enter WorkingDirectory as the unit's user"),
      texts={"default": Text(N_("{unit}: {user} may not execute {path} (status=203/EXEC, "
                             "Permission denied)"), _WHY, _FIX, _COMMANDS),
             "chdir": Text(N_("{unit}: {user} may not enter WorkingDirectory={path} "
                              "(status=200/CHDIR, Permission denied)"), _WHY, _FIX, _COMMANDS)})
def exec_denied(facts: Facts, units: tuple[Unit, ...]) -> Iterator[Found]:
    """`Failed at step EXEC spawning <p>: Permission denied` / `Changing to the requested
    working directory failed: Permission denied`: the mode is the cause."""
    for u in facts.gateway_units():
        entries = facts.since_last_start(u.name) or facts.journal_of(u.name)
        denied = last_matching(entries, EXEC_DENIED_RE)
        kind = "exec"
        if denied is None:
            denied, kind = last_matching(entries, CHDIR_DENIED_RE), "chdir"
        if denied is None:
            continue
        path = _path(u, denied, kind)
        status = last_matching(entries, EXIT_RES[kind])
        user = u.user or "root"
        yield found([*([status.excerpt] if status else []), denied.excerpt,
                     Excerpt(u.source, _setting(u, kind)), *_stat(facts, path, user)],
                    [Link("unit", u.name), Link("log", denied.message)], text=TEXT[kind],
                    unit=u.name, user=user, path=path, restart=u.restart_command,
                    code="203/EXEC" if kind == "exec" else "200/CHDIR",
                    verb=msg(N_("execute")) if kind == "exec" else msg(N_("enter")),
                    noexec=msg(N_("(Or the file system holding it is mounted noexec.)"))
                    if kind == "exec" else None,
                    **_blocker(facts, path, user, kind))




def _path(u: Unit, line: JournalEntry, kind: str) -> str:
    """The path systemd names (EXEC), else ExecStart's program or WorkingDirectory=."""
    m = EXEC_DENIED_RE.search(line.message) if kind == "exec" else None
    if m:
        return m.group(1)
    if kind == "chdir":
        return u.working_directory or "?"
    return u.exec_start[0][0] if u.exec_start and u.exec_start[0] else "?"


def _setting(u: Unit, kind: str) -> str:
    if kind == "chdir":
        return f"WorkingDirectory={u.working_directory or '?'} User={u.user or 'root'}"
    cmd = " ".join(u.exec_start[0]) if u.exec_start else "?"
    return f"ExecStart={cmd} User={u.user or 'root'}"


def _stat(facts: Facts, path: str, user: str) -> list[Excerpt]:
    """Owners and modes up the path, when the agent stat'ed it."""
    st = next((s for s in facts.file_stats or () if s.path == path), None)
    return [Excerpt(st.source, o.label(facts.accounts)) for o in st.chain if o.exists] if st \
        else []


def _blocker(facts: Facts, path: str, user: str, kind: str) -> dict[str, Any]:
    """Which path lacks the x bit (a directory above, else the path itself) and the fix."""
    st = next((s for s in facts.file_stats or () if s.path == path), None)
    acc = facts.accounts
    uid = acc.users[user][0] if acc and user in acc.users else None
    found_ = st.blocker(uid, acc.gids_of(user) if acc else frozenset()) \
        if st and uid is not None else None
    target = found_[0].path if found_ and found_[1] == "search" else path
    return dict(target=target, bits="a+x" if kind == "exec" and target == path else "o+x",
                what=target if target != path else msg(N_("it, or a directory above it,")),
                chown=msg(N_("or: {command}"), command=f"chown {user} {target}"),
                blocker_note=msg(N_("{target} is the directory that stops {user}."),
                                 target=target, user=user) if target != path else None)
