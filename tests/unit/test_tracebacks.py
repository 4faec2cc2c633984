"""Tracebacks as a real Python prints them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gatewaydoctor.parse.python import find_tracebacks


def _stderr(code: str, cwd: Path) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd)
    return proc.stderr.splitlines()


def test_relative_import(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("from .config import settings\n")
    lines = _stderr("import main", tmp_path)
    [(start, end, exc, msg)] = find_tracebacks(lines)
    assert (exc, msg) == ("ImportError", "attempted relative import with no known parent package")
    assert lines[start].startswith("Traceback") and end == len(lines) - 1


def test_chained_counts_once_and_ends_at_the_last(tmp_path: Path) -> None:
    code = ("try:\n import nosuchmodule_x\nexcept ImportError as e:\n"
            " raise RuntimeError('startup failed') from e\n")
    lines = _stderr(code, tmp_path)
    [(_s, _e, exc, msg)] = find_tracebacks(lines)
    assert (exc, msg) == ("RuntimeError", "startup failed")


def test_no_traceback_in_plain_lines() -> None:
    assert find_tracebacks(["INFO:     Started server process [1]", "ERROR: x"]) == []
