"""Unit discovery by reading unit files: ExecStart with continuations, drop-ins, resets, masks."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewaydoctor.agent import unitscan


@pytest.fixture()
def unit_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(etc, lib): the two unit directories unitscan reads, /etc's first."""
    etc, lib = tmp_path / "etc", tmp_path / "lib"
    etc.mkdir()
    lib.mkdir()
    monkeypatch.setattr(unitscan, "UNIT_DIRS", (str(etc), str(lib)))
    return etc, lib


def test_exec_start_with_continuation_and_dropin_reset(unit_dirs: tuple[Path, Path]) -> None:
    etc, lib = unit_dirs
    (lib / "api.service").write_text(
        "[Service]\nExecStart=/srv/venv/bin/gunicorn -k uvicorn.workers.UvicornWorker \\\n"
        "    --bind unix:/run/api.sock main:app\n")
    (lib / "other.service").write_text("[Service]\nExecStart=/usr/bin/sleep 1\n")
    (etc / "other.service.d").mkdir()
    (etc / "other.service.d" / "override.conf").write_text(
        "[Service]\nExecStart=\nExecStart=/srv/venv/bin/python -m uvicorn app:app\n")
    (etc / "masked.service").symlink_to("/dev/null")
    units = {u["name"]: u for u in unitscan.scan("systemd.unit_scan")["data"]["units"]}
    assert units["api.service"]["exec_start"] == [
        "/srv/venv/bin/gunicorn -k uvicorn.workers.UvicornWorker  --bind "
        "unix:/run/api.sock main:app"]
    assert units["other.service"]["exec_start"] == ["/srv/venv/bin/python -m uvicorn app:app"]
    assert units["masked.service"]["masked"] is True


def test_file_props_follow_dropins_and_refuse_specifiers(unit_dirs: tuple[Path, Path]) -> None:
    etc, lib = unit_dirs
    (lib / "api.service").write_text(
        "[Unit]\nDescription=API\nUser=notthis\n[Service]\nUser=app\n"
        'Environment="A=1 2" B=3\nEnvironmentFile=-/srv/.env\nWorkingDirectory=/srv/old\n'
        "ExecStart=/srv/venv/bin/uvicorn main:app \\\n  --port 8000\n")
    (etc / "api.service.d").mkdir()
    (etc / "api.service.d" / "override.conf").write_text(
        "[Service]\nEnvironment=\nEnvironment=C=4\nWorkingDirectory=/srv/new\n")
    (lib / "templ.service").write_text("[Service]\nWorkingDirectory=%h/app\nExecStart=/x\n")
    props = unitscan.file_props(str(lib / "api.service"))
    assert props == {
        "User": "app", "WorkingDirectory": "/srv/new", "Environment": "C=4",
        "EnvironmentFiles": "/srv/.env (ignore_errors=yes)",
        "ExecStart": "/srv/venv/bin/uvicorn main:app  --port 8000"}
    assert unitscan.file_props(str(lib / "templ.service")) is None
    assert unitscan.file_props(str(lib / "missing.service")) is None
