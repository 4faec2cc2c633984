"""Edits of configuration files, line by line, as remedies make them."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ..errors import GatewayDoctorError
from ..i18n import _
from .host import Host
from .steps import FileChange, LineEdit


class StaleFile(GatewayDoctorError):
    """A file no longer reads as the plan expects (changed since the plan was made)."""


def apply_edits(before: bytes, edits: Sequence[LineEdit], path: str) -> bytes:
    """The text after the edits; StaleFile if a line does not read as the edit expects."""
    lines = before.decode("utf-8", "surrogateescape").splitlines(keepends=True)
    for e in sorted(edits, key=lambda e: -e.line):
        at = e.line - 1
        if at >= len(lines) or lines[at].rstrip("\r\n") != e.old:
            raise StaleFile(_("{path}:{line} no longer reads {old!r}: the file changed since "
                              "the plan was made; run the fix again").format(
                path=path, line=e.line, old=e.old))
        ending = lines[at][len(lines[at].rstrip("\r\n")):] or "\n"
        lines[at:at + 1] = [part + ending for part in e.new.split("\n")]
    return "".join(lines).encode("utf-8", "surrogateescape")


def change_lines(host: Host, path: str, why: str,
                 changes: Sequence[tuple[int, Callable[[str], str]]]) -> FileChange | None:
    """A FileChange of `path` where each (line, change) turns that line into another; None
    when the file cannot be read or no line changes."""
    before = host.read(path)
    if before is None:
        return None
    lines = before.decode("utf-8", "surrogateescape").splitlines()
    edits = []
    for line, change in changes:
        if 0 < line <= len(lines) and (new := change(lines[line - 1])) != lines[line - 1]:
            edits.append(LineEdit(line, lines[line - 1], new))
    if not edits:
        return None
    return FileChange(path, why, before, apply_edits(before, edits, path), tuple(edits))


def replace_word(old: str, new: str) -> Callable[[str], str]:
    """A line change replacing `old` where it stands as a whole (an address, a host name)."""
    pattern = re.compile(rf"(?<![\w.-]){re.escape(old)}(?![\w.-])")

    def change(line: str) -> str:
        return pattern.sub(new, line, count=1)

    return change


def indent_of(line: str) -> str:
    """The leading whitespace of a line."""
    return line[:len(line) - len(line.lstrip())]


def block_lines(text: str, start: int) -> range:
    """The lines (1-based) of the block whose opening line is `start`: up to the line where
    its braces close (a line on its own `}` or one ending the block)."""
    lines = text.splitlines()
    depth = 0
    opened = False
    for n in range(start, len(lines) + 1):
        code = lines[n - 1].split("#", 1)[0]
        depth += code.count("{") - code.count("}")
        opened = opened or "{" in code
        if opened and depth <= 0:
            return range(start, n + 1)
    return range(start, len(lines) + 1)


def retarget(host: Host, places: Sequence[tuple[str, int]], old: str, new: str,
             why: str) -> list[FileChange]:
    """Edits naming `new` where the blocks opening at `places` (file, line) name `old` (an
    address: `127.0.0.1:5051`, `unix:/run/app.sock`, `localhost:8000`), one per file."""
    lines_by_file: dict[str, set[int]] = {}
    for path, line in places:
        before = host.read(path)
        if before is None:
            continue
        text = before.decode("utf-8", "surrogateescape")
        lines = text.splitlines()
        naming = [n for n in block_lines(text, line)
                  if replace_word(old, new)(lines[n - 1].split("#", 1)[0]) !=
                  lines[n - 1].split("#", 1)[0]]
        lines_by_file.setdefault(path, set()).update(naming)
    out = []
    for path, numbers in lines_by_file.items():
        change = change_lines(host, path, why, [(n, replace_word(old, new))
                                                for n in sorted(numbers)])
        if change is not None:
            out.append(change)
    return out
