"""Owners and modes of paths, the chain of directories above them, and the one permission
check the rules make on them (`allows`)."""

from __future__ import annotations

import stat
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from .host import Accounts

# Permission bits as `allows` takes them.
READ, WRITE, SEARCH = 4, 2, 1


class Owned(Protocol):
    """A path's owner, group and mode as stat reports them: PathOwner, PathStat."""

    @property
    def mode(self) -> int | None: ...
    @property
    def uid(self) -> int | None: ...
    @property
    def gid(self) -> int | None: ...


def allows(st: Owned, uid: int, gids: Collection[int], bit: int) -> bool:
    """Whether a user (uid, in groups gids) gets `bit` (READ, WRITE, SEARCH) on st by its
    owner, group and other bits: the one permission check of the rules.

    An unknown mode grants nothing; root's override is the caller's to decide.
    """
    mode = st.mode or 0
    if st.uid == uid:
        return bool(mode >> 6 & bit)
    if st.gid in gids:
        return bool(mode >> 3 & bit)
    return bool(mode & bit)


@dataclass(frozen=True)
class PathOwner:
    """Owner, group and mode of one path (None when it does not exist or cannot be seen)."""

    path: str
    exists: bool
    uid: int | None
    gid: int | None
    mode: int | None

    # permission rules
    def allows(self, uid: int, gids: Collection[int], bit: int) -> bool:
        """Whether the user gets bit on this path (see `allows`)."""
        return allows(self, uid, gids, bit)

    def label(self, accounts: Accounts | None) -> str:
        """`/srv/app/main.py: file owned by root:root, mode 0600 (rw-------)`."""
        if not self.exists or self.mode is None:
            return f"{self.path}: does not exist"
        user = accounts.user_name(self.uid) if accounts else str(self.uid)
        group = accounts.group_name(self.gid) if accounts else str(self.gid)
        kind = "directory" if stat.S_ISDIR(self.mode) else "file"
        return (f"{self.path}: {kind} owned by {user}:{group}, mode "
                f"{stat.S_IMODE(self.mode):04o} ({stat.filemode(self.mode)[1:]})")


@dataclass(frozen=True)
class FileStat:
    """A path a service was denied, with each parent directory, nearest first."""

    path: str
    chain: tuple[PathOwner, ...]
    source: str

    # permission rules
    def blocker(self, uid: int, gids: Collection[int]) -> tuple[PathOwner, str] | None:
        """The path that stops the user and what it lacks there: `search` on a directory
        above, `read` or `write` on the path, or `create` (write) in its directory."""
        existing = [o for o in self.chain if o.exists]
        for o in reversed(_above(self.path, existing)):
            if stat.S_ISDIR(o.mode or 0) and not o.allows(uid, gids, SEARCH):
                return o, "search"
        if self.chain and self.chain[0].exists:
            return _lacks(self.chain[0], uid, gids, (("read", READ), ("write", WRITE)))
        return _lacks(existing[0], uid, gids, (("create", WRITE),)) if existing else None

    def shown(self, blocker: tuple[PathOwner, str] | None) -> list[PathOwner]:
        """What to show of the chain: the path (when it does not exist, also the directory
        nearest to it) and the blocker."""
        existing = [o for o in self.chain if o.exists]
        shown = existing[:1] if self.chain[0].exists else [self.chain[0], *existing[:1]]
        return shown + [blocker[0]] if blocker and blocker[0] not in shown else shown


def _above(path: str, existing: list[PathOwner]) -> list[PathOwner]:
    """The existing directories above path, nearest first."""
    return existing[1:] if existing and existing[0].path == path else existing


def _lacks(o: PathOwner, uid: int, gids: Collection[int],
           needs: tuple[tuple[str, int], ...]) -> tuple[PathOwner, str] | None:
    """o and the first of needs the user does not get on it."""
    lacks = next((what for what, bit in needs if not o.allows(uid, gids, bit)), None)
    return (o, lacks) if lacks else None


@dataclass(frozen=True)
class PathStat:
    """Mode and owner of a path (a unix socket or a directory above it)."""

    path: str
    kind: str | None
    mode: int | None
    uid: int | None
    gid: int | None
    owner: str | None
    group: str | None
    error: str | None

    @property
    def label(self) -> str:
        """`drwxr-x--- app:app /run/fastapi`, like `ls -ld` says it."""
        if self.error or self.mode is None:
            return f"{self.path}: {self.error}"
        return f"{_mode_text(self.kind, self.mode)} {self.owner}:{self.group} {self.path}"

    # socket-permission (rules/permission): root always may; an unknown mode counts as allowed
    def allows(self, uid: int, gids: Collection[int], bit: int) -> bool:
        """Whether uid, a member of gids, gets permission bit (4 r, 2 w, 1 x) here."""
        return self.mode is None or uid == 0 or allows(self, uid, gids, bit)


def _mode_text(kind: str | None, mode: int) -> str:
    first = {"dir": "d", "socket": "s", "symlink": "l"}.get(kind or "", "-")
    bits = "".join(ch if mode & (1 << (8 - i)) else "-" for i, ch in enumerate("rwxrwxrwx"))
    return first + bits
