"""Rule cases patch journal records and text lines of a recording (tests/unit/cases.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cases import case_data

UNIT = "journal.unit:fastapi-backend.service"


def _case(tmp_path: Path, patch: list[dict[str, object]]) -> Any:
    path = tmp_path / "case.json"
    path.write_text(json.dumps({"recording": "healthy", "patch": patch}), encoding="utf-8")
    return case_data(path)


def test_a_journal_record_is_patched_and_written_back(tmp_path: Path) -> None:
    rec = {"MESSAGE": "[ERROR] Connection in use: ('0.0.0.0', 8000)", "_PID": "243"}
    ev = _case(tmp_path, [{"op": "add", "path": f"/items/{UNIT}/records/0", "value": rec}])
    item = ev["items"][UNIT]
    assert "records" not in item
    assert json.loads(item["stdout"].splitlines()[0]) == rec


def test_a_show_line_is_patched_and_written_back(tmp_path: Path) -> None:
    show = "systemd.show:fastapi-backend.service"
    ev = _case(tmp_path, [{"op": "add", "path": f"/items/{show}/lines/0",
                           "value": "ActiveState=failed"}])
    item = ev["items"][show]
    assert "lines" not in item and item["stdout"].startswith("ActiveState=failed\n")


def test_a_whole_stdout_replaced_by_the_patch_wins(tmp_path: Path) -> None:
    ev = _case(tmp_path, [{"op": "replace", "path": f"/items/{UNIT}/stdout",
                           "value": '{"MESSAGE": "hello"}\n'}])
    assert ev["items"][UNIT]["stdout"] == '{"MESSAGE": "hello"}\n'
