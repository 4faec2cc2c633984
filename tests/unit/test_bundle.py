"""Bundles: written from recorded lab evidence, read back, diagnosed offline; bad ones refused."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from gatewaydoctor import bundle
from gatewaydoctor.cli import main
from gatewaydoctor.redact import Redactor

LAB = Path(__file__).resolve().parents[1] / "data" / "lab"
SCENARIOS = ("relative-import", "healthy", "db-down-health", "upstream-mismatch",
             "rate-limit-docs")


def recording(name: str) -> dict[str, Any]:
    ev: dict[str, Any] = json.loads((LAB / f"{name}.json").read_text())
    ev.pop("lab", None)
    return ev


def members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name.split("/", 1)[1]: tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar if m.isfile()}


def report(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", SCENARIOS)
def test_bundle_diagnoses_like_the_evidence(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "b.tar.gz"
    bundle.write(recording(name), path)
    code_raw, raw = report(capsys, "diagnose", "--evidence", str(LAB / f"{name}.json"))
    code, rep = report(capsys, "diagnose", "--from", str(path))
    assert code == code_raw
    assert rep["verdict"] == raw["verdict"]
    assert [c["rule"] for c in rep["causes"]] == [c["rule"] for c in raw["causes"]]
    assert rep["offline"] == f"the bundle {path}"
    assert rep["taken_at"] == raw["taken_at"] != ""


@pytest.mark.parametrize("path", sorted(LAB.glob("*.json")), ids=lambda p: p.stem)
def test_every_recording_written_as_a_bundle_reads_back(tmp_path: Path, path: Path) -> None:
    """The writer does not check what it writes replays (that costs the evidence model's
    import): this does, for every lab recording."""
    ev = recording(path.stem)
    out = tmp_path / "b.tar.gz"
    bundle.write(ev, out)
    back = bundle.read(out)
    assert set(back.evidence.items) == set(ev["items"])
    assert back.manifest["schema"] == bundle.SCHEMA


def test_layout_manifest_and_one_file_per_source(tmp_path: Path) -> None:
    ev = recording("relative-import")
    path = tmp_path / "b.tar.gz"
    manifest = bundle.write(ev, path)
    files = members(path)
    assert {"manifest.json", "evidence.json"} <= set(files)
    on_disk = json.loads(files["manifest.json"])
    assert on_disk == manifest
    # Laid out for reading: a line per source.
    lines = files["manifest.json"].decode().splitlines()
    for s in manifest["sources"]:
        assert sum(f'"source": {json.dumps(s["source"])}' in line for line in lines) == 1
    assert manifest["schema"] == "gatewaydoctor.bundle/1"
    assert manifest["host"] == ev["host"] and manifest["taken_at"] == ev["time"]
    assert manifest["tool_version"]
    assert {s["source"] for s in manifest["sources"]} == set(ev["items"])
    for s in manifest["sources"]:
        assert s["status"] in ("gathered", "failed")
        assert s["file"] in files and files[s["file"]].decode().startswith(
            f"# source: {s['source']}")
    assert manifest["sizes"]["evidence_json"] == len(files["evidence.json"])
    assert isinstance(manifest["redactions"], dict)
    # Every member stays under one top directory named after the file.
    with tarfile.open(path) as tar:
        assert {m.name.split("/")[0] for m in tar} == {"b"}


def test_failed_sources_are_listed_with_their_reason(tmp_path: Path) -> None:
    ev = recording("healthy")
    ev["items"]["journal.kernel"].update(stdout=None, error="permission denied: journal",
                                         error_kind="permission")
    manifest = bundle.write(ev, tmp_path / "b.tar.gz")
    failed = {s["source"]: s for s in manifest["sources"] if s["status"] == "failed"}
    assert failed["journal.kernel"]["reason"] == "permission denied: journal"
    assert "journal.kernel" in manifest["failed"]


def test_written_bundles_are_deterministic(tmp_path: Path) -> None:
    ev = recording("healthy")
    a, b = tmp_path / "a.tar.gz", tmp_path / "a2" / "a.tar.gz"
    b.parent.mkdir()
    bundle.write(ev, a, created=1_700_000_000)
    bundle.write(ev, b, created=1_700_000_000)
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("share", [1.0, 0.5])
def test_items_redacted_as_they_came_make_the_same_bundle(tmp_path: Path, share: float) -> None:
    """Redacting items one by one while gathering (bundle.Early) changes no byte."""
    from queue import SimpleQueue

    ev = recording("relative-import")
    secret = "Zq7sEcretValue99"
    ev["items"]["systemd.cat:fastapi-backend.service"]["stdout"] += (
        f"DATABASE_URL=postgresql://app:{secret}@db:5432/x\n")
    queue: SimpleQueue[dict[str, Any] | None] = SimpleQueue()
    items = list(ev["items"].values())
    for item in items[:int(len(items) * share)]:  # the rest were made in place, say
        queue.put(item)
    queue.put(None)
    early = bundle.Early()
    early.take(queue)
    assert len(early.redacted) == int(len(items) * share)
    a, b = tmp_path / "a.tar.gz", tmp_path / "b" / "a.tar.gz"
    b.parent.mkdir()
    manifest_a = bundle.write(ev, a, created=1_700_000_000)
    manifest_b = bundle.write(ev, b, created=1_700_000_000, early=early)
    assert a.read_bytes() == b.read_bytes()
    assert manifest_a["redactions"] == manifest_b["redactions"]
    assert manifest_b["redactions"]["dsn_password"] >= 1
    with pytest.raises(ValueError):
        bundle.write(ev, tmp_path / "c.tar.gz", Redactor(mask_ips=True), early=early)


def test_redaction_counts_by_kind_never_values(tmp_path: Path) -> None:
    ev = recording("relative-import")
    secret = "Zq7sEcretValue99"
    unit = ev["items"]["systemd.cat:fastapi-backend.service"]
    unit["stdout"] += (f'Environment="DB_PASSWORD={secret}" '
                       f"DATABASE_URL=postgresql://app:{secret}@db:5432/x\n")
    path = tmp_path / "b.tar.gz"
    manifest = bundle.write(ev, path)
    assert manifest["redactions"]["dsn_password"] >= 1
    assert manifest["redactions"]["secret_assignment"] >= 1
    for name, data in members(path).items():
        assert secret.encode() not in data, name


def test_mask_ips_and_hosts_keep_the_diagnosis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ev = recording("upstream-mismatch")
    path = tmp_path / "b.tar.gz"
    manifest = bundle.write(ev, path, Redactor(mask_ips=True, mask_hosts=True))
    text = b"\n".join(members(path).values()).decode()
    assert "app.example.test" not in text and "gdlab" not in manifest["host"]
    assert manifest["options"]["mask_hosts"] and manifest["redactions"]["host"] > 0
    _, raw = report(capsys, "diagnose", "--evidence", str(LAB / "upstream-mismatch.json"))
    _, rep = report(capsys, "diagnose", "--from", str(path))
    assert [c["rule"] for c in rep["causes"]] == [c["rule"] for c in raw["causes"]]


def test_default_name() -> None:
    name = bundle.default_name("web 1/prod", 0)
    assert name == "gatewaydoctor-web_1_prod-19700101T000000Z.tar.gz"


def test_evidence_json_is_accepted_by_from(capsys: pytest.CaptureFixture[str]) -> None:
    code, rep = report(capsys, "diagnose", "--from", str(LAB / "relative-import.json"))
    assert code == 1 and rep["causes"][0]["category"] == "app.relative_import"
    assert "evidence file" in rep["offline"]


def _tar(path: Path, files: dict[str, bytes], extra: tarfile.TarInfo | None = None) -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if extra is not None:
            tar.addfile(extra)
    path.write_bytes(gzip.compress(raw.getvalue()))
    return path


def _bad_archives(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = tmp_path / "good.tar.gz"
    bundle.write(recording("healthy"), good)
    data = good.read_bytes()
    files = members(good)
    link = tarfile.TarInfo("b/evidence/x.txt")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
    manifest = json.loads(files["manifest.json"])
    manifest["schema"] = "something.else/9"
    cases = {
        "truncated": (tmp_path / "t.tar.gz", "truncated"),
        "not-a-tar": (tmp_path / "n.tar.gz", "not a readable .tar.gz"),
        "no-manifest": (_tar(tmp_path / "m.tar.gz", {"b/evidence.json": files["evidence.json"]}),
                        "has no manifest.json"),
        "wrong-schema": (_tar(tmp_path / "s.tar.gz", {
            "b/manifest.json": json.dumps(manifest).encode(),
            "b/evidence.json": files["evidence.json"]}), "manifest schema 'something.else/9'"),
        "traversal": (_tar(tmp_path / "p.tar.gz", {"b/manifest.json": files["manifest.json"],
                                                    "b/../../etc/cron.d/x": b"evil"}),
                      "outside the bundle directory"),
        "absolute": (_tar(tmp_path / "a.tar.gz", {"/etc/passwd": b"x"}),
                     "outside the bundle directory"),
        "symlink": (_tar(tmp_path / "l.tar.gz", {"b/manifest.json": files["manifest.json"]},
                         link), "a link or special file"),
        "bad-evidence": (_tar(tmp_path / "e.tar.gz", {
            "b/manifest.json": files["manifest.json"], "b/evidence.json": b'{"schema": "x"}'}),
            "evidence.json is unusable"),
        "text-file": (tmp_path / "notes.txt", "neither a gatewaydoctor bundle"),
        "missing": (tmp_path / "nope.tar.gz", "no such file"),
    }
    cases["truncated"][0].write_bytes(data[: len(data) // 2])
    cases["not-a-tar"][0].write_bytes(gzip.compress(b"hello, this is not a tar archive" * 40))
    cases["text-file"][0].write_text("hello\n")
    return {k: v for k, v in cases.items()}


@pytest.mark.parametrize("case", ["truncated", "not-a-tar", "no-manifest", "wrong-schema",
                                  "traversal", "absolute", "symlink", "bad-evidence",
                                  "text-file", "missing"])
def test_bad_archive_is_one_sentence_exit_2(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, expected = _bad_archives(tmp_path)[case]
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["diagnose", "--from", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("gatewaydoctor: ") and err.count("\n") == 1, err
    assert str(path) in err and expected in err, err
    assert "Traceback" not in err and "internal error" not in err
    # Nothing was unpacked next to it (or anywhere under tmp_path).
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_from_refuses_live_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", "--from", str(LAB / "healthy.json"), "--no-exec"]) == 2
    assert "apply to a live diagnosis" in capsys.readouterr().err


@pytest.mark.parametrize("window", ["2h", "-30m", "3d"])
def test_window_is_accepted(window: str) -> None:
    from gatewaydoctor.app import since

    assert since(window) == "-" + window.lstrip("-")


def test_bad_window_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bundle", "--window", "yesterday", "-o", "/nonexistent/x.tar.gz"]) == 2
    assert "--window 'yesterday' is not a time span" in capsys.readouterr().err


def test_large_archives_are_two_gzip_members_read_as_one_stream(tmp_path: Path) -> None:
    import random
    import subprocess

    rng = random.Random(5)
    data = bytes(rng.getrandbits(8) for _ in range(40_000)) * 8  # > SPLIT_AT
    packed = bundle._gzip(data)
    assert packed == bundle._gzip(data)  # deterministic
    assert packed.count(b"\x1f\x8b\x08") >= 2
    assert gzip.decompress(packed) == data
    (tmp_path / "x.gz").write_bytes(packed)
    out = subprocess.run(["gzip", "-dc", str(tmp_path / "x.gz")], capture_output=True,
                         check=True).stdout
    assert out == data
    assert gzip.decompress(bundle._gzip(b"small")) == b"small"
