"""Rule cases: tests/rules/<symbol>/<case>.json names a lab recording and, at most, a patch.

A case file is `{"recording": "<scenario>", "note": "...", "patch": [...]}`: the recording
tests/data/lab/<scenario>.json, trimmed (process list cut to the processes rules read,
journal records cut to the fields parsers read), then the RFC 6902 JSON Patch applied to it.
"note" and "patch" are optional. tests/rules/README.md says how to add one.

In the trimmed recording a journal item's records are a list, `/items/journal.<x>/records`
(one object per record, the fields parsers read), and the text of `systemctl show`, `nginx -T`
and nginx's error log is a list of lines (`/items/systemd.show:<unit>/lines`,
`/items/nginx.dump/lines`, `/items/nginx.error_log:<path>/lines`), so a patch can replace one
message, property or directive, or insert a line; they are written back to the item's `stdout`
after the patch.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonpatch
import jsonpointer

from gatewaydoctor.evidence import Evidence

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "tests" / "data" / "lab"
# Recordings of real stacks that are not lab scenarios (tests/unit/container_stack.py's).
STACKS = ROOT / "tests" / "data" / "stacks"
KEYS = frozenset({"recording", "note", "patch"})
KEEP_COMM = re.compile(r"^(nginx|python.*|uvicorn|gunicorn|uwsgi|postgres|systemd)$")
JOURNAL_FIELDS = frozenset({"MESSAGE", "_PID", "SYSLOG_IDENTIFIER", "PRIORITY",
                            "__REALTIME_TIMESTAMP", "UNIT", "_SYSTEMD_UNIT"})
KERNEL_RECORDS = 20
# Text items a patch edits line by line: `systemctl show`, `nginx -T`, nginx's error log.
LINE_ITEMS = ("systemd.show:", "nginx.dump", "nginx.error_log:")


class CaseError(Exception):
    """A case file that is not a case, names no recording, or whose patch does not apply."""


def trim(ev: dict[str, Any]) -> dict[str, Any]:
    """Cut a recording (in place) to what the rules read, so a case stays small to review."""
    procs = ev["items"]["proc.processes"]["data"]
    procs["processes"] = [p for p in procs["processes"] if KEEP_COMM.match(p["comm"])]
    for key, item in ev["items"].items():
        if key.startswith(LINE_ITEMS) and item.get("stdout"):
            item["lines"] = item["stdout"].splitlines()
            item["stdout"] = None
        if key.startswith("journal.") and item.get("stdout"):
            records = [json.loads(line) for line in item["stdout"].splitlines() if line.strip()]
            if key == "journal.kernel":
                records = records[-KERNEL_RECORDS:]
            item["records"] = [{k: v for k, v in r.items() if k in JOURNAL_FIELDS}
                                for r in records]
            item["stdout"] = None
    return ev


def _journal_back(ev: dict[str, Any]) -> dict[str, Any]:
    """Write the (patched) journal records back to their items' stdout, as journalctl would."""
    for item in ev["items"].values():
        if not isinstance(item, dict):
            continue
        records, lines = item.pop("records", None), item.pop("lines", None)
        if item.get("stdout") is not None:
            continue  # a patch replaced the whole stdout: it wins
        if records is not None:
            item["stdout"] = "".join(json.dumps(r) + "\n" for r in records)
        elif lines is not None:
            item["stdout"] = "".join(line + "\n" for line in lines)
    return ev


@lru_cache(maxsize=None)
def _trimmed_text(name: str) -> str:
    # Cached as text: json.loads of it is a fresh, patchable copy, faster than deepcopy.
    found = _recording(name)
    assert found is not None
    return json.dumps(trim(json.loads(found.read_text(encoding="utf-8"))))


def _recording(name: str) -> Path | None:
    """The recording called name: a lab scenario's, else a real stack's."""
    return next((p for p in (LAB / f"{name}.json", STACKS / f"{name}.json") if p.is_file()),
                None)


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if ROOT in (path, *path.parents) else str(path)


def _spec(path: Path) -> dict[str, Any]:
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CaseError(f"cannot read case {_shown(path)}: {exc.strerror}") from None
    except ValueError as exc:
        raise CaseError(f"case {_shown(path)} is not JSON: {exc}") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("recording"), str):
        raise CaseError(f'case {_shown(path)} must be an object with "recording": "<name>"')
    if set(spec) - KEYS:
        raise CaseError(f"case {_shown(path)} has unknown keys {sorted(set(spec) - KEYS)} "
                        f"(a case has {sorted(KEYS)})")
    if not isinstance(spec.get("patch", []), list) or not isinstance(spec.get("note", ""), str):
        raise CaseError(f'case {_shown(path)}: "patch" must be a list of JSON Patch operations '
                        'and "note" a string')
    return spec


def case_data(path: Path) -> dict[str, Any]:
    """The evidence dict a case file stands for: its recording, trimmed, then patched."""
    spec = _spec(path)
    name = spec["recording"]
    if "/" in name or _recording(name) is None:
        raise CaseError(f"case {_shown(path)} names recording {name!r}, but there is no "
                        f"{_shown(LAB)}/{name}.json (nor {_shown(STACKS)}/{name}.json)")
    doc: dict[str, Any] = json.loads(_trimmed_text(name))
    for n, op in enumerate(spec.get("patch", [])):
        try:
            doc = jsonpatch.JsonPatch([op]).apply(doc, in_place=True)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            raise CaseError(f"case {_shown(path)}: patch operation {n} {json.dumps(op)} does "
                            f"not apply to recording {name!r}: {exc}") from None
    return _journal_back(doc)


def load_case(path: Path) -> Evidence:
    """The evidence a case file stands for, as `gatewaydoctor.evidence.load` would give it."""
    return Evidence.from_dict(case_data(path))


def evidence_file(path: Path, folder: Path) -> Path:
    """Write a case's evidence to folder as a JSON file, for what only reads files (the CLI)."""
    out = folder / f"{path.parent.name}.{path.stem}.json"
    out.write_text(json.dumps(case_data(path)), encoding="utf-8")
    return out
