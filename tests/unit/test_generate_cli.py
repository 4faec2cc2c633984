"""`gatewaydoctor generate` as a user runs it: the real CLI in a subprocess. A dry run prints
and writes nothing; --write refuses to replace a file; --force keeps the old one byte for
byte, with its mode and owner; every bad input is one sentence and exit 2, no traceback."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_generate_detect import APP_USER, FIXTURES, LAB_LAYOUTS, place, real_venv  # noqa: F401

ENV = {**os.environ, "LANG": "C.UTF-8", "LANGUAGE": ""}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "gatewaydoctor", "generate", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120,
                          env=env or ENV, check=False)


@pytest.fixture
def lab_app(tmp_path: Path, real_venv: Path) -> Path:  # noqa: F811 - the session fixture
    return place(tmp_path / "lab", LAB_LAYOUTS["lab"], real_venv)


def _one_sentence(proc: subprocess.CompletedProcess[str], match: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gatewaydoctor: "), proc.stderr
    assert "Traceback" not in proc.stderr and match in lines[0], lines


def test_dry_run_prints_and_writes_nothing(lab_app: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "backend.service"
    out.parent.mkdir()
    proc = cli("unit", str(lab_app), "--port", "8123", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "[Service]" in proc.stdout and " main:app" in proc.stdout
    assert f"would be written to {out}" in proc.stderr
    assert not out.exists()
    # the default place, told without writing it
    proc = cli("unit", str(lab_app), "--port", "8123")
    assert "would be written to /etc/systemd/system/backend.service" in proc.stderr
    # the current folder is the default APP_DIR
    here = subprocess.run([sys.executable, "-m", "gatewaydoctor", "generate", "unit",
                           "--port", "8123"], capture_output=True, text=True, cwd=lab_app,
                          env={**ENV, "PYTHONPATH": str(Path(__file__).parents[2] / "src")},
                          timeout=60, check=False)
    assert here.returncode == 0 and here.stdout == proc.stdout, here.stderr


def test_write_refuses_to_overwrite_and_force_keeps_a_backup(lab_app: Path,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "backend.service"
    first = cli("unit", str(lab_app), "--port", "8123", "--output", str(out), "--write")
    assert first.returncode == 0, first.stderr
    assert f"wrote {out}" in first.stderr and "systemctl daemon-reload" in first.stderr
    assert "ExecStart=" in out.read_text()
    # someone edits it by hand, with a mode and owner of their own
    old = out.read_bytes() + b"# edited by hand\n"
    out.write_bytes(old)
    out.chmod(0o600)
    uid = pwd.getpwnam(APP_USER).pw_uid
    os.chown(out, uid, uid)
    again = cli("unit", str(lab_app), "--port", "8124", "--output", str(out), "--write")
    _one_sentence(again, f"{out} exists: --force replaces it")
    assert out.read_bytes() == old
    forced = cli("unit", str(lab_app), "--port", "8124", "--output", str(out), "--write",
                 "--force")
    assert forced.returncode == 0, forced.stderr
    backups = list(tmp_path.glob("backend.service.gatewaydoctor-*.bak"))
    assert len(backups) == 1
    st = backups[0].stat()
    assert backups[0].read_bytes() == old
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o600, uid, uid)
    assert "--bind 127.0.0.1:8124" in out.read_text()


def test_an_invalid_unit_is_not_written(lab_app: Path, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    out = tmp_path / "backend.service"
    # a venv whose interpreter is gone: systemd-analyze verify says so, nothing is written
    (lab_app / "venv").unlink()
    broken = tmp_path / "brokenvenv"
    (broken / "bin").mkdir(parents=True)
    (broken / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (broken / "bin" / "python").symlink_to("/nonexistent/python3")
    (lab_app / "venv").symlink_to(broken)
    proc = cli("unit", str(lab_app), "--port", "8123", "--output", str(out), "--write",
               "--server", "gunicorn")
    _one_sentence(proc, "")
    assert not out.exists()


def test_a_unit_systemd_analyze_cannot_verify_is_written_with_a_warning(
        lab_app: Path, tmp_path: Path) -> None:
    """Where systemd-analyze is not installed (here: not on PATH), the unit is written and
    the user told it was not verified."""
    out = tmp_path / "backend.service"
    proc = cli("unit", str(lab_app), "--port", "8123", "--output", str(out), "--write",
               env={**ENV, "PATH": str(tmp_path / "empty")})
    assert proc.returncode == 0, proc.stderr
    assert "systemd-analyze is not installed: the unit was not verified" in proc.stderr
    assert "ExecStart=" in out.read_text()


def test_site_written_only_after_nginx_t(lab_app: Path, tmp_path: Path) -> None:
    out = tmp_path / "site.conf"
    proc = cli("site", str(lab_app), "--port", "8123", "--server-name", "api.example.org",
               "--output", str(out), "--write")
    assert proc.returncode == 0, proc.stderr
    assert "server_name api.example.org;" in out.read_text()
    bad = cli("site", str(lab_app), "--port", "8123", "--server-name", "bad;name",
              "--output", str(tmp_path / "bad.conf"), "--write")
    _one_sentence(bad, "nginx -t rejects")
    assert not (tmp_path / "bad.conf").exists()


@pytest.mark.parametrize(("case", "match"), [
    ("empty", "no app found in"),
    ("two", "2 apps found"),
    ("novenv", "no virtualenv found"),
    ("root", "is owned by root"),
    ("missing", "is not a folder"),
    ("badport", "--port and --socket"),
])
def test_bad_input_is_one_sentence(case: str, match: str, tmp_path: Path,
                                   real_venv: Path) -> None:  # noqa: F811
    app = tmp_path / "app"
    app.mkdir()
    uid = pwd.getpwnam(APP_USER).pw_uid
    os.chown(app, uid, uid)
    extra: list[str] = []
    if case == "two":
        app = place(tmp_path / "two", FIXTURES["twoapps"], real_venv)
    elif case in ("novenv", "root", "badport"):
        (app / "main.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n")
        if case != "novenv":
            (app / "venv").symlink_to(real_venv)
        if case == "root":
            os.chown(app, 0, 0)
        if case == "badport":
            extra = ["--port", "1", "--socket", "/run/x.sock"]
    elif case == "missing":
        app = tmp_path / "nothere"
    _one_sentence(cli("unit", str(app), *extra), match)


def test_not_writable_is_one_sentence(lab_app: Path, tmp_path: Path) -> None:
    """A folder the CLI cannot write in (here: mounted read-only in a mount namespace of
    our own): said, not a traceback."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare for a read-only mount of our own")
    folder = tmp_path / "units"
    folder.mkdir()
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
         str(folder), sys.executable, "-m", "gatewaydoctor", "generate", "unit", str(lab_app),
         "--port", "8123", "--output", str(folder / "backend.service"), "--write"],
        capture_output=True, text=True, timeout=120, env=ENV, check=False)
    _one_sentence(proc, f"cannot write in {folder}")
    assert not (folder / "backend.service").exists()


def test_gatewaydoctor_lint_finds_nothing_in_what_generate_writes(lab_app: Path,
                                                                   tmp_path: Path) -> None:
    """The two halves agree: the files generate writes are clean for lint's rules (the
    proxy_pass port is the one the unit and the program bind)."""
    written = []
    for kind, name in (("unit", "backend.service"), ("site", "backend.conf"),
                       ("supervisor", "backend.ini")):
        out = tmp_path / name
        proc = cli(kind, str(lab_app), "--port", "8123", "--server-name", "api.example.org",
                   "--output", str(out), "--write")
        assert proc.returncode == 0, proc.stderr
        written.append(str(out))
    lint = subprocess.run([sys.executable, "-m", "gatewaydoctor", "lint", *written],
                          capture_output=True, text=True, timeout=120, env=ENV, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "no problem found in 3 file(s)" in lint.stdout + lint.stderr
