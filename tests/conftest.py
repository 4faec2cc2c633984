"""Options shared by the whole suite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--update-golden` rewrites tests/golden/ from what the code says now (review the diff)."""
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite the golden findings and reports in tests/golden/")


ROOT = Path(__file__).resolve().parents[1]
PYZ_SOURCES = ("src", "pyproject.toml", "README.md", "scripts/build-pyz", "scripts/pyz_main.py")


def _newest_source() -> float:
    newest = 0.0
    for name in PYZ_SOURCES:
        path = ROOT / name
        for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
            if "__pycache__" not in p.parts and ".egg-info" not in p.name:
                newest = max(newest, p.stat().st_mtime)
    return newest


@pytest.fixture(scope="session")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The single-file build, in a folder of its own with its .sha256: a copy of
    dist/gatewaydoctor.pyz when that is newer than every source (scripts/test builds it
    before the tests), else one built now by scripts/build-pyz (~15 s)."""
    out = tmp_path_factory.mktemp("pyz")
    dist = ROOT / "dist" / "gatewaydoctor.pyz"
    checksum = dist.with_name(dist.name + ".sha256")
    if dist.is_file() and checksum.is_file() and dist.stat().st_mtime > _newest_source():
        shutil.copy2(dist, out / dist.name)
        shutil.copy2(checksum, out / checksum.name)
    else:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "build-pyz"), "--out", str(out)],
                       check=True, timeout=600, stdout=subprocess.DEVNULL)
    return out / dist.name
