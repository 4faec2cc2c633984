"""Hostile evidence JSON given to `diagnose --from`: deep nesting, a wrong type in any field,
too large, not UTF-8, not JSON — each one sentence naming the file and the field, exit 2."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from test_hostile_bundle import assert_refused, run_cli

from gatewaydoctor import evidence
from gatewaydoctor.cli import main

LAB = Path(__file__).resolve().parents[1] / "data" / "lab"
UNIT = "journal.unit:fastapi-backend.service"


def recording(name: str = "env-var-unset") -> dict[str, Any]:
    ev: dict[str, Any] = json.loads((LAB / f"{name}.json").read_text())
    return ev


def _write(tmp_path: Path, ev: Any, name: str = "ev.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(ev))
    return path


def refused_in_process(capsys: pytest.CaptureFixture[str], path: Path) -> str:
    """Run the CLI in-process on path; return its one sentence (exit 2, nothing on stdout)."""
    assert main(["diagnose", "--from", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("gatewaydoctor: ") and err.count("\n") == 1, err
    assert str(path) in err and "internal error" not in err and "Traceback" not in err, err
    return err


# The issue's cases, each in a fresh interpreter: under 2 s and 150 MB.
def _deep(tmp_path: Path) -> Path:
    path = tmp_path / "deep.json"
    path.write_text('{"schema": "gatewaydoctor.evidence/1", "items": '
                    + "[" * 100_000 + "]" * 100_000 + "}")
    return path


def _options_a_string(tmp_path: Path) -> Path:
    ev = recording()
    ev["options"] = "euid=0"
    return _write(tmp_path, ev)


def _stdout_a_list(tmp_path: Path) -> Path:
    ev = recording()
    ev["items"][UNIT]["stdout"] = ["a", "b"]
    return _write(tmp_path, ev)


def _duration_abc(tmp_path: Path) -> Path:
    ev = recording()
    ev["duration"] = "abc"
    return _write(tmp_path, ev)


ISSUE_CASES = {
    "nested-100k-deep": (_deep, "nests objects or lists more than 64 deep"),
    "options-a-string": (_options_a_string, "options: expected an object, got a string"),
    "stdout-a-list": (_stdout_a_list, f'items["{UNIT}"].stdout: expected a string, got a list'),
    "duration-abc": (_duration_abc, "duration: expected a number, got a string"),
}


@pytest.mark.parametrize("case", sorted(ISSUE_CASES))
def test_the_issues_bad_evidence_is_one_sentence_fast(case: str, tmp_path: Path) -> None:
    build, expected = ISSUE_CASES[case]
    path = build(tmp_path)
    assert_refused(run_cli("diagnose", "--from", str(path)), path, expected)
    assert_refused(run_cli("diagnose", "--evidence", str(path)), path, expected)


WRONG = {"a string": 7, "an integer": "7", "a number": "abc", "true or false": "yes",
         "an object": "x", "a list": "x"}


@pytest.mark.parametrize("field", sorted(evidence.TOP_FIELDS))
def test_a_wrong_type_at_the_top_names_the_field(
    field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ev = recording()
    want = evidence.TOP_FIELDS[field]
    ev[field] = WRONG[want]
    err = refused_in_process(capsys, _write(tmp_path, ev))
    assert f": {field}: expected {want}, got " in err, err


@pytest.mark.parametrize("field", sorted(set(evidence.ITEM_FIELDS) - {"source"}))
def test_a_wrong_type_in_an_item_names_the_item_and_the_field(
    field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ev = recording()
    want = evidence.ITEM_FIELDS[field]
    ev["items"][UNIT][field] = WRONG[want]
    err = refused_in_process(capsys, _write(tmp_path, ev))
    assert f'items["{UNIT}"].{field}: expected {want}, got ' in err, err


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda ev: ev["options"].update(euid="0"), "options.euid: expected an integer, got a string"),
    (lambda ev: ev["items"]["nginx.test"].update(argv=["nginx", 1]),
     'items["nginx.test"].argv[1]: expected a string, got an integer'),
    (lambda ev: ev.update(failures=[{"source": "x"}, "y"]),
     "failures[1]: expected an object, got a string"),
    (lambda ev: ev["items"].update({"nginx.test": ["x"]}),
     'items["nginx.test"]: expected an object, got a list'),
    (lambda ev: ev.update(items=[1, 2]), "items: expected an object, got a list"),
    (lambda ev: ev["items"][UNIT].update(kind="rootkit"),
     f'items["{UNIT}"].kind: unknown kind "rootkit"'),
    (lambda ev: ev["items"][UNIT].update(rc=True), "rc: expected an integer, got true or false"),
    (lambda ev: ev.update(schema="other/2"), "not gatewaydoctor evidence (schema 'other/2'"),
], ids=["euid", "argv-element", "failure", "item-a-list", "items-a-list", "kind", "rc-bool",
        "schema"])
def test_other_wrong_shapes_name_the_field(
    mutate: Any, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ev = recording()
    mutate(ev)
    assert expected in refused_in_process(capsys, _write(tmp_path, ev))


def test_not_json_not_utf8_too_large(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = {
        "trunc.json": (json.dumps(recording())[:5000].encode(), "is not JSON"),
        "latin1.json": (b'{"schema": "\xe9"}', "is not UTF-8 text (byte 12)"),
        "nan.json": (json.dumps({**recording(), "duration": float("inf")}).encode(),
                     "duration: expected a number, got a non-finite number"),
        "big.json": (b"{" + b" " * evidence.MAX_JSON_BYTES + b"}", "larger than 16 MiB"),
        "deep-900.json": (b"{\"a\": " + b"[" * 900 + b"]" * 900 + b"}", "more than 64 deep"),
    }
    for name, (data, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert expected in refused_in_process(capsys, path), name


def test_nesting_is_measured_without_recursion() -> None:
    """A million levels (ten times what json's decoder takes) still gives a plain answer."""
    assert evidence.too_deep([[[]]]) is False
    deep: list[Any] = []
    for _n in range(1_000_000):
        deep = [deep]
    assert evidence.too_deep(deep) is True
    assert evidence.too_deep({"a": [1] * 1_000_000, "b": {"c": {}}}) is False


def test_every_lab_recording_passes_the_check_quickly() -> None:
    """The check accepts what the agent writes; it costs a fraction of a millisecond per
    recording, where importing jsonschema (54 ms) or pydantic (25 ms) would cost more than
    the whole check on every `--from` (measured on this machine when it was written)."""
    worst = 0.0
    for path in sorted(LAB.glob("*.json")):
        raw = json.loads(path.read_text())
        start = time.perf_counter()
        evidence.check(raw)
        assert not evidence.too_deep(raw)
        worst = max(worst, time.perf_counter() - start)
    assert worst < 0.02


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _listify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_listify(v) for v in value]
    return [value, {"k": value}] if isinstance(value, str) else value


@pytest.mark.parametrize("masks", [(), ("--mask-ips", "--mask-hosts")])
def test_data_of_the_wrong_shape_loses_its_facts_not_the_report(
    masks: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Inside an item's data (each source's own format) anything may come: every string
    there made a list. The report comes, says which facts were lost and why, and no rule
    trips (before, five rules reported internal errors and the parsers raised)."""
    ev = recording()
    for item in ev["items"].values():
        if item.get("data"):
            item["data"] = _listify(item["data"])
    path = _write(tmp_path, ev)
    assert main(["diagnose", "--from", str(path), "--json", *masks]) == 1
    rep = json.loads(capsys.readouterr().out)
    lost = {c["area"]: c["detail"] for c in rep["coverage"] if "unexpected shape" in c["detail"]}
    assert "processes" in lost and "AttributeError" in lost["processes"], rep["coverage"]
    assert any("expected str, got list" in d for d in lost.values()), lost
    assert not rep.get("errors"), rep.get("errors")
    assert rep["causes"], "the journal still tells the cause"


def test_fuzzed_data_through_the_redactor_is_fast_and_small(tmp_path: Path) -> None:
    """The issue's fuzzed evidence file that crashed the redactor: data of every shape, with
    masking on, in a fresh interpreter: a report, no traceback, under 2 s and 150 MB."""
    ev = recording()
    for item in ev["items"].values():
        if item.get("data"):
            item["data"] = _listify(item["data"])
    path = _write(tmp_path, ev)
    o = run_cli("diagnose", "--from", str(path), "--mask-ips", "--mask-hosts")
    assert o.code == 1 and "unexpected shape" in o.out, o
    assert "Traceback" not in o.err and "internal error" not in o.out + o.err, o.err
    assert o.seconds < 2.0 and 0 < o.mib < 150, o
