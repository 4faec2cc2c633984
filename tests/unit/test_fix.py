"""The fix machinery on real files, real commands and a real bash: edits, backups, rollback
byte for byte (content, mode, owner), the lock, the script; the plans of recorded examples.

The lab (tests/lab/test_fix_lab.py) applies fixes to real broken stacks; here each piece is held
to what it promises, on files of a temporary folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gatewaydoctor.fix import run as runs
from gatewaydoctor.fix.edits import StaleFile, apply_edits, block_lines, retarget
from gatewaydoctor.fix.host import Host
from gatewaydoctor.fix.script import script
from gatewaydoctor.fix.steps import Command, FileChange, LineEdit, Plan, Remedy

EXAMPLES = Path(__file__).parents[2] / "src" / "gatewaydoctor" / "examples"
NGINX = {"nginx_test": "true", "nginx_reload": "true", "nginx_start": "true",
         "nginx_restart": "true"}
SITE = """upstream app {
    server 127.0.0.1:8000;   # the app
    keepalive 8;
}
server {
    listen 80;
    location /api/ {
        proxy_pass http://127.0.0.1:8000;
    }
    location /other/ {
        proxy_pass http://127.0.0.1:80001;
    }
}
"""


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "state"
    monkeypatch.setenv("GATEWAYDOCTOR_STATE_DIR", str(folder))
    return folder


def _plan(*steps: Command | FileChange) -> Plan:
    return Plan("host", None, "broken", (Remedy("GD-X", "x", "c", "t", steps, "v"),))


def _said() -> list[str]:
    return []


def test_block_lines_follow_the_braces() -> None:
    assert list(block_lines(SITE, 1)) == [1, 2, 3, 4]
    assert list(block_lines(SITE, 7)) == [7, 8, 9]
    assert list(block_lines(SITE, 5)) == list(range(5, 14))


def test_retarget_changes_the_address_where_it_stands_whole(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.write_text(SITE)
    changes = retarget(Host(True, NGINX), [(str(site), 1), (str(site), 7)], "127.0.0.1:8000",
                       "127.0.0.1:8001", "why")
    assert len(changes) == 1 and changes[0].text is not None
    after = changes[0].text.decode()
    assert "server 127.0.0.1:8001;   # the app" in after
    assert "proxy_pass http://127.0.0.1:8001;" in after
    assert "127.0.0.1:80001" in after  # a longer port is another address
    assert [e.line for e in changes[0].edits] == [2, 8]


def test_an_edit_refuses_a_line_that_changed() -> None:
    with pytest.raises(StaleFile, match=r"f:2 no longer reads"):
        apply_edits(b"a\nb\n", [LineEdit(2, "c", "d")], "f")
    assert apply_edits(b"a\r\nb\r\n", [LineEdit(2, "b", "x\ny")], "f") == b"a\r\nx\r\ny\r\n"


def test_apply_then_rollback_restores_bytes_mode_and_owner(tmp_path: Path, state: Path) -> None:
    target = tmp_path / "site"
    target.write_bytes(SITE.encode())
    target.chmod(0o640)
    os.chown(target, 0, 0)
    change = FileChange(str(target), "why", SITE.encode(), edits=(
        LineEdit(2, "    server 127.0.0.1:8000;   # the app", "    server 127.0.0.1:9;"),),
        mode=0o600, owner=(65534, 65534))
    mark = tmp_path / "mark"
    plan = _plan(change, Command(f"touch {mark}", "why", undo=f"rm {mark}"))
    run = runs.new_run(plan)
    assert runs.apply(plan, run, _said().append)
    st = target.stat()
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o600, 65534, 65534)
    assert b"127.0.0.1:9;" in target.read_bytes() and mark.exists()
    saved = json.loads((state / "fixes" / run.id / "run.json").read_text())
    assert saved["status"] == "applied" and saved["files"][0]["mode"] == 0o640
    runs.rollback(runs.Run.load(run.id), _said().append)
    st = target.stat()
    assert target.read_bytes() == SITE.encode()
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o640, 0, 0)
    assert not mark.exists()  # the command's undo ran
    assert runs.Run.load(run.id).status == "rolled-back"


def test_a_failing_command_rolls_back_what_came_before(tmp_path: Path, state: Path) -> None:
    target = tmp_path / "f"
    target.write_text("one\ntwo\n")
    plan = _plan(FileChange(str(target), "why", b"", edits=(LineEdit(1, "one", "ONE"),)),
                 Command("exit 3", "fails"))
    run = runs.new_run(plan)
    assert not runs.apply(plan, run, _said().append)
    assert target.read_text() == "one\ntwo\n"
    loaded = runs.Run.load(run.id)
    assert loaded.status == "failed" and "`exit 3` failed" in loaded.reason
    assert loaded.steps[-1]["rc"] == 3


def test_rollback_refuses_a_file_changed_since(tmp_path: Path, state: Path) -> None:
    target = tmp_path / "f"
    target.write_text("one\n")
    plan = _plan(FileChange(str(target), "why", b"", edits=(LineEdit(1, "one", "ONE"),)))
    run = runs.new_run(plan)
    assert runs.apply(plan, run, _said().append)
    target.write_text("someone else's\n")
    with pytest.raises(runs.FixError, match="changed since fix"):
        runs.rollback(runs.Run.load(run.id), _said().append)
    runs.rollback(runs.Run.load(run.id), _said().append, force=True)
    assert target.read_text() == "one\n"


def test_two_fixes_never_run_at_once(state: Path) -> None:
    with runs.locked():
        code = ("from gatewaydoctor.fix import run\n"
                "try:\n    run.locked().__enter__()\nexcept run.FixError as e:\n    print(e)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env=os.environ).stdout
    assert f"another gatewaydoctor fix is running (pid {os.getpid()})" in out


def test_the_script_applies_checks_lines_and_rolls_back(tmp_path: Path) -> None:
    target = tmp_path / "site"
    target.write_text(SITE)
    target.chmod(0o640)
    mark = tmp_path / "mark"
    change = FileChange(str(target), "why", SITE.encode(), edits=(
        LineEdit(8, "        proxy_pass http://127.0.0.1:8000;",
                 "        proxy_pass http://127.0.0.1:8001;\n        proxy_read_timeout 120s;"),),
        mode=0o600)
    text = script(_plan(change, Command(f"touch {mark}", "mark", undo=f"rm {mark}")), _Diag())
    path = tmp_path / "fix.sh"
    path.write_text(text)
    env = {**os.environ, "GATEWAYDOCTOR_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run(["bash", str(path), "apply", "S1"], capture_output=True, text=True,
                          env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert "proxy_pass http://127.0.0.1:8001;\n        proxy_read_timeout 120s;\n" in \
        target.read_text() and mark.exists() and target.stat().st_mode & 0o777 == 0o600
    back = subprocess.run(["bash", str(path), "rollback", "S1"], capture_output=True, text=True,
                          env=env, check=False)
    assert back.returncode == 0, back.stderr
    assert target.read_text() == SITE and not mark.exists()
    assert target.stat().st_mode & 0o777 == 0o640
    # a line that no longer reads as planned: nothing changes, the script says where
    target.write_text(SITE.replace("127.0.0.1:8000;\n    }", "127.0.0.1:7;\n    }"))
    stale = subprocess.run(["bash", str(path), "apply", "S2"], capture_output=True, text=True,
                           env=env, check=False)
    assert stale.returncode == 1 and f"{target}:8 no longer reads" in stale.stderr
    assert "127.0.0.1:7;" in target.read_text() and not mark.exists()


class _Diag:
    offline = "a bundle"


def _cli(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gatewaydoctor", *args], capture_output=True,
                          text=True, check=False,
                          env={**os.environ, "GATEWAYDOCTOR_STATE_DIR": str(state),
                               "LANGUAGE": "en"})


def test_plans_of_recorded_examples(state: Path) -> None:
    mismatch = _cli("fix", "--from", str(EXAMPLES / "upstream-mismatch.tar.gz"), "--json",
                    state=state)
    plan = json.loads(mismatch.stdout)
    assert mismatch.returncode == 1
    assert [(r["symbol"], r["automatic"]) for r in plan["remedies"]] == [
        ("upstream-mismatch", True)]
    steps = plan["remedies"][0]["steps"]
    assert steps[0]["kind"] == "file" and "+        proxy_pass http://127.0.0.1:8001;" in \
        steps[0]["diff"]
    assert [s["line"] for s in steps[1:]] == ["nginx -t", "systemctl reload nginx"]
    relative = json.loads(_cli("fix", "--from", str(EXAMPLES / "relative-import.tar.gz"),
                               "--json", state=state).stdout)
    assert [(r["symbol"], r["automatic"]) for r in relative["remedies"]] == [
        ("relative-import", False)]
    assert relative["remedies"][0]["steps"][0]["kind"] == "manual"
    healthy = _cli("fix", "--from", str(EXAMPLES / "healthy.tar.gz"), state=state)
    assert healthy.returncode == 0 and "Nothing to fix" in healthy.stdout
    assert not state.exists()  # a dry run writes nothing, not even its state folder


def test_cli_errors_are_one_sentence(state: Path) -> None:
    applied = _cli("fix", "--from", str(EXAMPLES / "upstream-mismatch.tar.gz"), "--apply",
                   "--yes", state=state)
    assert applied.returncode == 2 and "cannot apply a plan made from --from" in applied.stderr
    unknown = _cli("fix", "--rollback", "nope", state=state)
    assert unknown.returncode == 2 and "no fix run nope" in unknown.stderr
    listed = _cli("fix", "--list", state=state)
    assert listed.returncode == 0 and "No fix has been run" in listed.stdout
    assert "Traceback" not in applied.stderr + unknown.stderr
