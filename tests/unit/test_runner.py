"""The agent's command runner and log tail reader, on real processes and files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gatewaydoctor.agent.runner import journal, read_file, read_tail, run


def test_run_records_rc_and_output() -> None:
    item = run("t", [sys.executable, "-c", "import sys; print('out'); sys.exit(3)"])
    assert (item["rc"], item["stdout"], item["error"]) == (3, "out\n", None)
    assert item["kind"] == "command" and item["duration"] > 0


def test_run_missing_command() -> None:
    item = run("t", ["/nonexistent/nginx", "-T"])
    assert item["error_kind"] == "missing" and "/nonexistent/nginx" in item["error"]


def test_run_timeout_kills() -> None:
    item = run("t", [sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert item["error_kind"] == "timeout" and item["duration"] < 5


def test_run_bounds_output() -> None:
    item = run("t", [sys.executable, "-c", "print('x' * 5000)"], max_bytes=100)
    assert item["truncated"] and len(item["stdout"]) == 100


def test_read_tail_reads_only_the_end(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    log.write_text("".join(f"line {i}\n" for i in range(100_000)))
    item = read_tail("t", str(log), max_bytes=1000, max_lines=10)
    lines = item["stdout"].splitlines()
    assert lines[-1] == "line 99999" and len(lines) == 10
    assert item["offset"] == log.stat().st_size - len(item["stdout"].encode())
    assert item["truncated"]


def test_read_file_permission_and_missing(tmp_path: Path) -> None:
    assert read_file("t", str(tmp_path / "nope"))["error_kind"] == "missing"


def test_journal_falls_back_to_whole_records_on_old_systemd(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """systemd < 236 rejects --output-fields; the records are then read whole."""
    # journalctl of systemd 219 (CentOS 7), as far as option parsing goes.
    fake = tmp_path / "journalctl"
    fake.write_text("#!/bin/sh\nfor a in \"$@\"; do case $a in --output-fields=*)\n"
                    "echo \"journalctl: unrecognized option '$a'\" >&2; exit 1;; esac; done\n"
                    "echo '{\"MESSAGE\":\"hello\"}'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    item = journal("journal.unit:a.service", ["-u", "a.service", "-n", "5"])
    assert item["rc"] == 0 and item["stdout"] == '{"MESSAGE":"hello"}\n'
    assert not any(a.startswith("--output-fields") for a in item["argv"])
    assert item["argv"][:3] == ["journalctl", "-o", "json"]


def test_journal_records_lose_only_the_cursor_monotonic_time_and_boot_id() -> None:
    """Every journal record recorded in the lab stays the same JSON object, minus those."""
    import glob
    import json

    from gatewaydoctor.formats.journal import strip_noise

    dropped = {"__CURSOR", "__MONOTONIC_TIMESTAMP", "_BOOT_ID"}
    seen = 0
    for path in sorted(glob.glob("tests/data/lab/*.json"))[:12]:
        items = json.loads(Path(path).read_text())["items"]
        for source, item in items.items():
            for line in (item.get("stdout") or "").splitlines() if source.startswith(
                    "journal.") else ():
                record = json.loads(line)
                # the cursor first, last and in the middle of a record
                for order in (record, dict(reversed(record.items()))):
                    raw = json.dumps(order, ensure_ascii=False, separators=(",", ":"))
                    kept = json.loads(strip_noise(raw))
                    assert kept == {k: v for k, v in order.items() if k not in dropped}
                seen += 1
    assert seen > 500
    # A message that quotes such a field is left alone.
    line = json.dumps({"MESSAGE": 'x,"__CURSOR":"s=1",y', "__CURSOR": "s=2"},
                      separators=(",", ":"))
    assert json.loads(strip_noise(line)) == {"MESSAGE": 'x,"__CURSOR":"s=1",y'}
