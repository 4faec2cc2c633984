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


def _mode_text(kind: str | None, mode: int) -> str:
    first = {"dir": "d", "socket": "s", "symlink": "l"}.get(kind or "", "-")
    bits = "".join(ch if mode & (1 << (8 - i)) else "-" for i, ch in enumerate("rwxrwxrwx"))
    return first + bits
