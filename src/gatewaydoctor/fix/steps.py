"""What a fix plan is made of: commands, file changes and the steps only a person can take.

A plan is data: `fix` shows it (a dry run), `fix --apply` carries it out, `fix --script`
writes it as a shell script. The commands are shell lines of the service's own manager
(`systemctl restart api.service`, `supervisorctl start blog`, `pm2 restart api`), run with
`sh -c` under a timeout, the same lines the report prints and the script holds.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Union

SUDO_RE = re.compile(r"^sudo -u (\S+) ")


def as_root(line: str) -> str:
    """A command the report words with `sudo -u USER` (for a person), as root runs it:
    runuser, which every systemd host has (sudo may not be installed, or may ask)."""
    return SUDO_RE.sub(lambda m: f"runuser -u {m.group(1)} -- ", line)


@dataclass(frozen=True)
class Command:
    """A shell line to run; `undo` is the line that takes it back (None: nothing to take
    back, e.g. `nginx -t`). A failing command stops the plan, which is then rolled back."""

    line: str
    why: str
    undo: str | None = None
    timeout: float = 120.0


@dataclass(frozen=True)
class LineEdit:
    """Line `line` (1-based), which reads `old`, becomes `new` (which may hold several
    lines)."""

    line: int
    old: str
    new: str


@dataclass(frozen=True)
class FileChange:
    """A file's lines edited, or its mode or owner changed; backed up first.

    `before` is the file as the plan read it (this host's, or a bundle's nginx dump), `text`
    the file after the edits; each edit names the line it expects, so a file that changed
    since is refused, not overwritten. `mode`/`owner` None keep the file's own.
    """

    path: str
    why: str
    before: bytes = b""
    text: bytes | None = None
    edits: tuple[LineEdit, ...] = ()
    mode: int | None = None
    owner: tuple[int, int] | None = None  # uid, gid

    def diff(self) -> str:
        """The unified diff of the content change ('' when only mode/owner change)."""
        if self.text is None:
            return ""
        old = self.before.decode("utf-8", "replace").splitlines(keepends=True)
        new = self.text.decode("utf-8", "replace").splitlines(keepends=True)
        return "".join(difflib.unified_diff(old, new, f"a{self.path}", f"b{self.path}"))


@dataclass(frozen=True)
class Manual:
    """What a person must do, because it is not safe to do automatically (a process of
    someone else's holding the port, a database password, a code change)."""

    text: str
    commands: tuple[str, ...] = ()


Step = Union[Command, FileChange, Manual]


@dataclass(frozen=True)
class Remedy:
    """The steps that fix one cause, and how the fix is checked afterwards."""

    rule: str  # the cause's rule id
    symbol: str
    category: str
    title: str  # the cause as the report tells it
    steps: tuple[Step, ...]
    verify: str  # how it is checked, in the reader's language
    subject: tuple[str, ...] = ()  # the cause's links (kind:value): still there = not fixed

    @property
    def automatic(self) -> bool:
        """True when every step can be carried out by `fix --apply`."""
        return bool(self.steps) and not any(isinstance(s, Manual) for s in self.steps)


@dataclass(frozen=True)
class Plan:
    """The fix of a diagnosis: one remedy per cause that has one, in the causes' order."""

    host: str
    url: str | None
    verdict: str  # the diagnosis's verdict before the fix
    remedies: tuple[Remedy, ...]
    unfixed: tuple[str, ...] = ()  # causes no remedy knows (their titles)
    services: tuple[str, ...] = field(default=())  # systemd units whose enablement to keep

    @property
    def actions(self) -> tuple[Command | FileChange, ...]:
        """Every step `--apply` carries out, in order."""
        return tuple(s for r in self.remedies if r.automatic for s in r.steps
                     if not isinstance(s, Manual))
