"""The app's Python: tracebacks, the import probe, the interpreter, its .env keys."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..findings import Excerpt


@dataclass(frozen=True)
class Traceback:
    """A Python traceback found in the journal or in the import probe's stderr."""

    unit: str | None
    origin: str
    exc_type: str
    exc_message: str
    last_line: str
    text: str
    time: float | None
    source: str
    # Lines the exception printed after its `Type: message` line (pydantic's field list).
    detail: tuple[str, ...] = ()

    @property
    def frame_excerpt(self) -> Excerpt | None:
        """The innermost `File "...", line N` frame and its code line, as one evidence line."""
        lines = self.text.splitlines()
        for i in range(len(lines) - 1, -1, -1):
            m = re.match(r'\s*File "([^"]+)", line (\d+)', lines[i])
            if m and not m.group(1).startswith("<frozen"):
                code = lines[i + 1].strip() if i + 1 < len(lines) else ""
                return Excerpt(f"{m.group(1)}:{m.group(2)}", code or lines[i].strip())
        return None


@dataclass(frozen=True)
class ImportProbe:
    """The unit's interpreter importing the app target like the server would."""

    unit: str
    interpreter: str
    cwd: str
    module: str
    attr: str
    user: str
    ok: bool
    rc: int | None
    stage: str | None
    exc_type: str | None
    exc_message: str | None
    exc_name: str | None
    stderr: str
    note: str | None
    source: str


@dataclass(frozen=True)
class PythonInfo:
    """The interpreter a unit runs and its version."""

    unit: str
    interpreter: str | None
    version: str | None
    error: str | None
    source: str = ""  # the evidence it was read from: `python.version:<unit>`


@dataclass(frozen=True)
class EnvFile:
    """An EnvironmentFile/.env: which keys it sets (never the values)."""

    path: str
    exists: bool
    keys: tuple[str, ...]
    error: str | None
    source: str = ""  # the evidence it was read from: `env.keys:<path>`


@dataclass(frozen=True)
class DirListing:
    """The entry names of a directory (a unit's WorkingDirectory)."""

    path: str
    names: frozenset[str]
    error: str | None
    source: str = ""  # the evidence it was read from: `fs.listing:<path>`
