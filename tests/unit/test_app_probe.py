"""The app probe: database logins and the import in one run of the unit's interpreter, for real.

The interpreter is this test run's Python; psycopg is installed in it or not, either way the
login path runs (a refused connection, or "no driver importable"). The database is a closed
loopback port, so nothing answers.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

from gatewaydoctor.agent import appprobe, dbprobe
from gatewaydoctor.evidence import Item
from gatewaydoctor.parse.python import import_probe as read_probe

PASSWORD = "Pr0beSecretPw77"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _unit(tmp_path: Path, main_py: str) -> tuple[dict[str, str], list[str],
                                                 list[tuple[str, dict[str, Any]]]]:
    (tmp_path / "main.py").write_text(main_py)
    env = tmp_path / ".env"
    env.write_text(f"POSTGRES_URL=postgresql://app:{PASSWORD}@127.0.0.1:{_closed_port()}/appdb\n")
    props = {"WorkingDirectory": str(tmp_path), "EnvironmentFiles": f"{env} (ignore_errors=no)"}
    argv = [sys.executable, "-m", "uvicorn", "main:app", "--port", "8000"]
    return props, argv, dbprobe.plan("api.service", props, argv, no_exec=False)


def _run(tmp_path: Path, main_py: str) -> list[dict[str, Any]]:
    props, argv, checks = _unit(tmp_path, main_py)
    assert [source for source, _ in checks] == ["db.check:api.service:POSTGRES_URL"]
    items = appprobe.run("api.service", props, argv, checks)
    assert items is not None
    assert [i["source"] for i in items] == ["python.import:api.service",
                                            "python.version:api.service",
                                            "db.check:api.service:POSTGRES_URL"]
    assert PASSWORD not in repr(items)
    return items


def test_logins_then_import_in_one_interpreter(tmp_path: Path) -> None:
    # The app fails if it can see the DSN variable meant for the login.
    items = _run(tmp_path, "import os\nassert not [k for k in os.environ if "
                           "k.startswith('GATEWAYDOCTOR')], 'DSN variable leaked'\napp = 1\n")
    imported, version, db = items
    probe = read_probe(Item.from_dict(imported))
    assert probe is not None and probe.ok, imported["stderr"]
    assert version["stdout"] == f"Python {sys.version.split()[0]}\n"
    assert db["data"]["connect"]["connected"] is False
    login = db["data"]["login"]
    assert login["interpreter"] == sys.executable and login["ok"] in (False, None)
    if login["driver"] is None:
        assert "no PostgreSQL driver importable" in login["note"]
    else:
        assert login["error"] and PASSWORD not in login["error"]
    assert "@@" not in (imported["stdout"] or "")


def test_an_app_that_exits_on_import_keeps_the_login_results(tmp_path: Path) -> None:
    items = _run(tmp_path, "import os\nos._exit(3)\n")
    imported, version, db = items
    assert imported["rc"] == 3 and imported["data"]["result"] is None
    assert db["data"]["login"].get("driver") is not None or \
        "no PostgreSQL driver importable" in db["data"]["login"]["note"]
    # No version reported by the probe: `--version` was asked instead.
    assert version["argv"] == [sys.executable, "--version"]
    assert version["stdout"].startswith("Python 3")


def test_no_app_target_leaves_the_checks_to_run_alone(tmp_path: Path) -> None:
    props, _argv, checks = _unit(tmp_path, "app = 1\n")
    assert appprobe.run("x", props, [sys.executable, "-m", "http.server"], checks) is None


def test_started_from_the_unit_file_then_checked_against_what_systemd_loaded(
        tmp_path: Path) -> None:
    props, argv, _checks = _unit(tmp_path, "app = 1\n")
    props["ExecStart"] = " ".join(argv)
    same = appprobe.run_checked("api.service", props, argv, lambda: dict(props))
    assert same is not None and same[0]["data"]["cwd"] == str(tmp_path)
    assert read_probe(Item.from_dict(same[0])).ok  # type: ignore[union-attr]
    # systemd loaded another WorkingDirectory (a daemon-reload pending): its settings win.
    other = tmp_path / "loaded"
    other.mkdir()
    (other / "main.py").write_text("raise RuntimeError('the loaded one')\n")
    loaded = {**props, "WorkingDirectory": str(other)}
    assert not appprobe.same_settings(props, loaded)
    redone = appprobe.run_checked("api.service", props, argv, lambda: loaded)
    assert redone is not None and redone[0]["data"]["cwd"] == str(other)
    assert redone[0]["data"]["result"]["exc_message"] == "the loaded one"
    # systemd could not be asked: no probe at all, as when waiting for it.
    assert appprobe.run_checked("api.service", props, argv, lambda: None) is None


def test_code_change_is_told_cheaply_or_not_at_all(tmp_path: Path) -> None:
    import os
    import time

    from gatewaydoctor.agent import pyapp

    app = tmp_path / "app"
    (app / "pkg").mkdir(parents=True)
    (app / "venv").mkdir()
    (app / "main.py").write_text("app = 1\n")
    (app / "venv" / "newer.py").write_text("")  # a venv's files are not the app's code
    old = time.time() - 100
    os.utime(app / "main.py", (old, old))
    assert pyapp._code_changed_since([str(app)], old + 1) is False
    (app / "pkg" / "views.py").write_text("x = 1\n")
    assert pyapp._code_changed_since([str(app)], old + 1) is True
    # The whole system is not an app directory: no walk, so no claim.
    assert pyapp._code_changed_since(["/"], old) is None
