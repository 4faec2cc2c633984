"""Owners and modes of paths, and the chain of directories above them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PathOwner:
    """Owner, group and mode of one path (None when it does not exist or cannot be seen)."""

    path: str
    exists: bool
    uid: int | None
    gid: int | None
    mode: int | None


@dataclass(frozen=True)
class FileStat:
    """A path a service was denied, with each parent directory, nearest first."""

    path: str
    chain: tuple[PathOwner, ...]
    source: str


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

    # rules/nginx socket-permission: the owner/group/other check (one of two; to unify).
    def allows(self, uid: int, groups: tuple[int, ...], bit: int) -> bool:
        """Whether uid, a member of groups, gets permission bit (4 r, 2 w, 1 x) here by the
        owner/group/other bits (root always does; an unknown mode counts as allowed)."""
        if self.mode is None or uid == 0:
            return True
        if self.uid == uid:
            return bool(self.mode >> 6 & bit)
        if self.gid in groups:
            return bool(self.mode >> 3 & bit)
        return bool(self.mode & bit)


def _mode_text(kind: str | None, mode: int) -> str:
    first = {"dir": "d", "socket": "s", "symlink": "l"}.get(kind or "", "-")
    bits = "".join(ch if mode & (1 << (8 - i)) else "-" for i, ch in enumerate("rwxrwxrwx"))
    return first + bits
