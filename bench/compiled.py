"""Shared by the benchmarks: time the package as installed, with its bytecode compiled."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "gatewaydoctor"


def compile_package() -> None:
    """pip compiles an installed package's bytecode; an editable checkout is compiled at
    every start when the environment says PYTHONDONTWRITEBYTECODE (this machine does)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(PACKAGE)], check=True,
                   env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""})
