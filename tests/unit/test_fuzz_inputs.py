"""Fuzzing `diagnose --from` with mutations of every lab recording, as evidence JSON and as
bundles: the real CLI (`cli.main`, in-process) gives a report (exit 0/1) or one sentence
naming the file (exit 2), never an internal error or a traceback, in bounded memory.

Mutations: a value of the wrong type anywhere (the envelope, an item, its data, a journal
record inside stdout), a deleted key, a huge string, nesting past the limit, truncated or
corrupted text; for bundles, truncated or corrupted compressed bytes, corrupted tar headers
and members, and small bombs (a member or extension header claiming gigabytes).

CI runs a fixed, derandomized set (the `ci` profile: 6 examples per recording and test,
528 runs of the CLI, ~20 s of CPU here). To fuzz longer:

    GD_FUZZ=long .venv/bin/python -m pytest -q -p no:cacheprovider tests/unit/test_fuzz_inputs.py

(`long`: 100 examples per recording and test, random seeds, ~5 minutes; a failure prints
the draws and the `@reproduce_failure` line to replay it.)
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import tarfile
import tracemalloc
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatewaydoctor import bundle
from gatewaydoctor.cli import main

LAB = Path(__file__).resolve().parents[1] / "data" / "lab"
RECORDINGS = sorted(p.stem for p in LAB.glob("*.json"))
FORMATS = ("terminal", "json", "markdown", "html")
PEAK_LIMIT = 150 << 20  # bytes of memory one run of the CLI may add at its peak

PROFILES = {
    "ci": settings(max_examples=6, derandomize=True, database=None, deadline=None,
                   suppress_health_check=list(HealthCheck)),
    "long": settings(max_examples=100, derandomize=False, database=None, deadline=None,
                     suppress_health_check=list(HealthCheck)),
}
FUZZ = PROFILES[os.environ.get("GD_FUZZ", "ci")]

# Values of any JSON type, small.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=6)


@lru_cache(maxsize=None)
def recording_text(name: str) -> str:
    """A lab recording as the agent wrote it (the lab's own notes dropped)."""
    ev = json.loads((LAB / f"{name}.json").read_text())
    ev.pop("lab", None)
    return json.dumps(ev)


@lru_cache(maxsize=None)
def bundle_bytes(name: str, tmp: str) -> bytes:
    """The recording written as a real bundle (once per recording)."""
    path = Path(tmp) / f"{name}.tar.gz"
    bundle.write(json.loads(recording_text(name)), path, created=1_700_000_000)
    return path.read_bytes()


def _containers(node: Any) -> list[tuple[Any, Any]]:
    """(container, key) for every key or index of node's children."""
    if isinstance(node, dict):
        return [(node, k) for k in node]
    if isinstance(node, list):
        return [(node, i) for i in range(len(node))]
    return []


def _pick(data: st.DataObject, ev: dict[str, Any], inside: str) -> tuple[Any, Any] | None:
    """A (container, key) somewhere in the evidence: anywhere, in an item, or in an item's
    data (where each source's own format is, which only the parsers check)."""
    node: Any = ev
    items = ev.get("items") or {}
    if inside == "data":
        with_data = sorted(k for k, v in items.items() if v.get("data"))
        if with_data:
            node = items[data.draw(st.sampled_from(with_data), label="item")]["data"]
    elif inside == "item" and items:
        node = items[data.draw(st.sampled_from(sorted(items)), label="item")]
    spot = None
    for _depth in range(data.draw(st.integers(1, 6), label="depth")):
        here = _containers(node)
        if not here:
            break
        spot = data.draw(st.sampled_from(here), label="key")
        node = spot[0][spot[1]]
    return spot


def _journal_record(data: st.DataObject, ev: dict[str, Any]) -> None:
    """A field of one journal record (JSON inside an item's stdout) gets any value."""
    journals = sorted(k for k, v in ev.get("items", {}).items()
                      if k.startswith("journal.") and isinstance(v.get("stdout"), str)
                      and v["stdout"].strip())
    if not journals:
        return
    item = ev["items"][data.draw(st.sampled_from(journals), label="journal")]
    lines = item["stdout"].splitlines()
    n = data.draw(st.integers(0, len(lines) - 1), label="record")
    with contextlib.suppress(ValueError):
        rec = json.loads(lines[n])
        if isinstance(rec, dict) and rec:
            field = data.draw(st.sampled_from(sorted(rec)), label="field")
            rec[field] = data.draw(JSON_VALUES, label="value")
            lines[n] = json.dumps(rec)
    item["stdout"] = "\n".join(lines)


def mutate(data: st.DataObject, text: str) -> bytes:
    """One mutation of an evidence JSON text."""
    ev = json.loads(text)
    how = data.draw(st.sampled_from(["type", "type", "delete", "huge", "deep", "journal",
                                     "journal", "truncate", "corrupt"]), label="mutation")
    if how == "truncate":
        return text.encode()[:data.draw(st.integers(0, len(text)), label="cut")]
    if how == "corrupt":
        raw = bytearray(text.encode())
        for _n in range(data.draw(st.integers(1, 8), label="flips")):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
        return bytes(raw)
    if how == "journal":
        _journal_record(data, ev)
        return json.dumps(ev).encode()
    inside = data.draw(st.sampled_from(["anywhere", "item", "data", "data"]), label="where")
    spot = _pick(data, ev, inside)
    if spot is None:
        return json.dumps(ev).encode()
    container, key = spot
    if how == "type":
        container[key] = data.draw(JSON_VALUES, label="value")
    elif how == "delete":
        del container[key]
    elif how == "huge":
        container[key] = data.draw(st.sampled_from(["x", "é", "\x1b[2J", "%s{}"]),
                                   label="unit") * (1 << 20)
    else:
        nested = container[key]
        for _n in range(data.draw(st.sampled_from([2, 63, 70, 1000]), label="levels")):
            nested = [nested]
        container[key] = nested
    return json.dumps(ev).encode()


def _status_mib(field: str) -> int:
    """A VmRSS/VmHWM line of /proc/self/status, in MiB."""
    with open("/proc/self/status") as fh:
        line = next(x for x in fh if x.startswith(field + ":"))
    return int(line.split()[1]) >> 10


@contextlib.contextmanager
def bounded_memory() -> Iterator[None]:
    """Fail when the run grew the process's resident memory by PEAK_LIMIT or more: the peak
    (VmHWM, reset before by writing 5 to /proc/self/clear_refs) counts what C code holds too
    (zlib's buffers), at no cost; tracemalloc (Python's allocations only, 3-5x slower)
    where that cannot be reset."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        tracemalloc.start()
        try:
            yield
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < PEAK_LIMIT, f"peak {peak >> 20} MiB"
        return
    before = _status_mib("VmRSS")
    yield
    grew = _status_mib("VmHWM") - before
    assert grew < PEAK_LIMIT >> 20, f"resident memory grew by {grew} MiB"


# How the report is asked for: each format, and masking (the redactor walks the evidence).
HOW = st.tuples(st.sampled_from(FORMATS), st.sampled_from([(), ("--mask-ips", "--mask-hosts")]))


def assert_report_or_sentence(path: Path, how: tuple[str, tuple[str, ...]]) -> None:
    """The real CLI on path: a report, or exit 2 with one sentence naming the file."""
    fmt, masks = how
    out, err = io.StringIO(), io.StringIO()
    with bounded_memory(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["diagnose", "--from", str(path), "--format", fmt, *masks])
    said = err.getvalue()
    assert "internal error" not in said and "Traceback" not in said, said
    if code == 2:
        assert said.startswith("gatewaydoctor: ") and said.count("\n") == 1, said
        assert str(path) in said, said
    else:
        assert code in (0, 1), (code, said)
        assert out.getvalue().strip(), "no report"


@pytest.mark.parametrize("name", RECORDINGS)
def test_fuzzed_evidence_json(name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Mutations of each recording, as an evidence file."""
    tmp = tmp_path_factory.mktemp("fuzz")

    @given(data=st.data(), how=HOW)
    @FUZZ
    def run(data: st.DataObject, how: tuple[str, tuple[str, ...]]) -> None:
        path = tmp / "ev.json"
        path.write_bytes(mutate(data, recording_text(name)))
        assert_report_or_sentence(path, how)

    run()


def _tar_members(raw: bytes) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        return [(m, tar.extractfile(m).read() if m.isfile() else b"")  # type: ignore[union-attr]
                for m in tar]


def mutate_bundle(data: st.DataObject, packed: bytes) -> bytes:
    """One mutation of a bundle: of its compressed bytes, its tar stream, or a member."""
    how = data.draw(st.sampled_from(["truncate", "corrupt", "tar-bytes", "evidence", "bomb",
                                     "header-bomb"]), label="mutation")
    if how == "truncate":
        return packed[:data.draw(st.integers(0, len(packed) - 1), label="cut")]
    if how == "corrupt":
        raw = bytearray(packed)
        at = data.draw(st.integers(0, len(raw) - 1), label="at")
        raw[at:at + data.draw(st.integers(1, 64))] = data.draw(st.binary(min_size=1, max_size=64))
        return bytes(raw)
    tar = bytearray(gzip.decompress(packed))
    if how == "tar-bytes":  # headers and contents alike
        for _n in range(data.draw(st.integers(1, 16), label="flips")):
            tar[data.draw(st.integers(0, len(tar) - 1))] = data.draw(st.integers(0, 255))
        return gzip.compress(bytes(tar), 1)
    members = _tar_members(bytes(tar))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as new:
        for info, body in members:
            if how == "evidence" and info.name.endswith("/evidence.json"):
                body = mutate(data, body.decode())
                info.size = len(body)
            new.addfile(info, io.BytesIO(body) if info.isfile() else None)
    tar = bytearray(out.getvalue())
    if how in ("bomb", "header-bomb"):
        # A header claiming gigabytes, inserted before a real member (its data never follows).
        kind = tarfile.REGTYPE if how == "bomb" else data.draw(st.sampled_from(
            [tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.XGLTYPE]), label="kind")
        info = tarfile.TarInfo("b/pad" if how == "bomb" else "././@LongLink")
        info.type, info.size = kind, data.draw(st.integers(1 << 26, 1 << 34), label="size")
        at = 512 * data.draw(st.integers(0, len(tar) // 512 - 1), label="block")
        tar[at:at] = info.tobuf(format=tarfile.GNU_FORMAT)
    return gzip.compress(bytes(tar), 1)


@pytest.mark.parametrize("name", RECORDINGS)
def test_fuzzed_bundles(name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Mutations of each recording's bundle."""
    tmp = tmp_path_factory.mktemp("fuzzb")
    packed = bundle_bytes(name, str(tmp))

    @given(data=st.data(), how=HOW)
    @FUZZ
    def run(data: st.DataObject, how: tuple[str, tuple[str, ...]]) -> None:
        path = tmp / "b.tar.gz"
        path.write_bytes(mutate_bundle(data, packed))
        assert_report_or_sentence(path, how)

    run()


def test_mutations_really_reach_the_pipeline(tmp_path: Path) -> None:
    """The fuzzing is not all refusals: what the check lets through (a deleted item, a
    journal record of the wrong shape) is diagnosed, in every format."""
    ev = json.loads(recording_text("env-var-unset"))
    del ev["items"]["nginx.dump"]
    unit = ev["items"]["journal.unit:fastapi-backend.service"]
    unit["stdout"] = '{"MESSAGE": {"a": 1}, "_PID": [], "__REALTIME_TIMESTAMP": "x"}\n' \
        + unit["stdout"]
    path = tmp_path / "ev.json"
    path.write_text(json.dumps(ev))
    for fmt in FORMATS:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            assert main(["diagnose", "--from", str(path), "--format", fmt]) == 1, err.getvalue()
        assert out.getvalue().strip()
