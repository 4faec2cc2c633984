"""Hostile archives given to `diagnose --from`: refused in one sentence naming the file and the
limit, in well under the 2 s and 150 MB the issue allows, never unpacked, no traceback.

Each bomb is built small (a few MB at most, in milliseconds): deflate output after a full
flush does not refer back, so one compressed piece repeated is a valid stream of any length.
Every case runs the real console entry point in a fresh interpreter, timed, with the peak
resident memory read from its own /proc/self/status (VmHWM, reset by exec).
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import tarfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from gatewaydoctor import bundle
from gatewaydoctor.cli import main

LAB = Path(__file__).resolve().parents[1] / "data" / "lab"
MiB = 1 << 20

# The CLI in a fresh interpreter; its peak memory as the last stderr line.
RUN = """
import sys
from gatewaydoctor.cli import main
code = main(sys.argv[1:])
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")]
print("VmHWM", int(hwm[0].split()[1]) // 1024, file=sys.stderr)
sys.exit(code)
"""


class Outcome(NamedTuple):
    """What the CLI did with one input: exit code, stdout, stderr (without the memory line),
    seconds and peak MiB."""

    code: int
    out: str
    err: str
    seconds: float
    mib: int


def run_cli(*argv: str) -> Outcome:
    """Run `gatewaydoctor ARGV` in a fresh interpreter; time it and read its peak memory."""
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", RUN, *argv], capture_output=True, text=True,
                          timeout=60)
    seconds = time.monotonic() - start
    *lines, last = done.stderr.splitlines() or [""]
    mib = int(last.split()[1]) if last.startswith("VmHWM") else -1
    return Outcome(done.returncode, done.stdout, "\n".join(lines) + "\n" if lines else "",
                   seconds, mib)


def assert_refused(o: Outcome, path: Path, *expected: str) -> None:
    """Exit 2, one sentence naming the file (and what was wrong), fast and small."""
    assert o.code == 2, o
    assert o.out == ""
    assert o.err.startswith("gatewaydoctor: ") and o.err.count("\n") == 1, o.err
    assert str(path) in o.err, o.err
    for text in expected:
        assert text in o.err, o.err
    assert "Traceback" not in o.err and "internal error" not in o.err, o.err
    assert o.seconds < 2.0, f"{o.seconds:.2f} s"
    assert 0 < o.mib < 150, f"{o.mib} MiB"


def header(name: str, size: int, kind: bytes = tarfile.REGTYPE,
           fmt: int = tarfile.GNU_FORMAT) -> bytes:
    """One tar header block (with its GNU/PAX extension blocks when the name needs them)."""
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    return info.tobuf(format=fmt)


def repeated_gzip(head: bytes, piece: bytes, times: int, tail: bytes = b"") -> bytes:
    """A gzip member inflating to head + piece * times + tail, compressed once per part.

    Beyond 256 MiB the trailer's CRC is not that of the whole (computing it would take
    seconds): the reader must refuse long before it gets there, which is what is tested.
    """
    def part(data: bytes, last: bool = False) -> bytes:
        co = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        return co.compress(data) + co.flush(zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH)

    body = part(head) + part(piece) * times + part(tail, last=True)
    size = len(head) + len(piece) * times + len(tail)
    crc = zlib.crc32(head)
    if size <= 256 * MiB:
        for _n in range(times):
            crc = zlib.crc32(piece, crc)
        crc = zlib.crc32(tail, crc)
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + body
            + crc.to_bytes(4, "little") + (size & 0xFFFFFFFF).to_bytes(4, "little"))


def tar_bytes(files: dict[str, bytes], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """An uncompressed tar of plain files."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def good_members(tmp_path: Path) -> dict[str, bytes]:
    """manifest.json and evidence.json of a real bundle of the healthy recording."""
    ev = json.loads((LAB / "healthy.json").read_text())
    ev.pop("lab", None)
    path = tmp_path / "good.tar.gz"
    bundle.write(ev, path)
    with tarfile.open(path) as tar:
        return {m.name.split("/", 1)[1]: tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar if m.isfile() and m.name.count("/") == 1}


def _members_of_64_mib(tmp: Path) -> bytes:
    # The bomb: 200 members of 64 MiB zeros (12.8 GiB), 13 KB here.
    return repeated_gzip(header("b/pad0", 64 * MiB), b"\0" * MiB, 64 * 200)


def _members_under_the_limit(tmp: Path) -> bytes:
    # 200 members of 15 MiB, each under the per-member limit: the total stops it.
    one = header("b/pad", 15 * MiB) + b"\0" * (15 * MiB)
    return repeated_gzip(b"", one, 200)


def _gzip_members(tmp: Path) -> bytes:
    # The other bomb: 1,999 gzip members of 64 MiB each (four tar members of 16 MiB
    # in each), one after the other: 130 MB however it is made (deflate's ratio is 1:1032).
    one = repeated_gzip(b"", header("b/pad", 16 * MiB - 512) + b"\0" * (16 * MiB - 512), 4)
    path = tmp / "gzip-members.part"
    with path.open("wb") as fh:
        for _n in range(1999):
            fh.write(one)
    return path.read_bytes()


def _many_small_gzip_members(tmp: Path) -> bytes:
    data = tar_bytes({f"b/f{i}": b"" for i in range(100)})
    return b"".join(gzip.compress(data[i:i + 512]) for i in range(0, len(data), 512))


def _pax_header(tmp: Path) -> bytes:
    # A PAX header of 200 MiB (tarfile reads a PAX header whole, then parses it).
    head = header("././@PaxHeader", 200 * MiB, tarfile.XHDTYPE, tarfile.USTAR_FORMAT)
    return repeated_gzip(head + b"209715200 comment=", b"x" * MiB, 200)


def _gnu_long_name(tmp: Path) -> bytes:
    head = header("././@LongLink", 200 * MiB, tarfile.GNUTYPE_LONGNAME, tarfile.USTAR_FORMAT)
    return repeated_gzip(head, b"n" * MiB, 200)


def _header_chain(tmp: Path) -> bytes:
    # Thousands of small extension headers in a row: tarfile follows them by recursion.
    record = b"20 comment=xxxxxxxx\n"
    one = header("././@PaxHeader", len(record), tarfile.XHDTYPE, tarfile.USTAR_FORMAT)
    chain = (one + record.ljust(512, b"\0")) * 3000
    return gzip.compress(chain + header("b/manifest.json", 0) + b"\0" * 1024)


def _many_members(tmp: Path) -> bytes:
    return gzip.compress(tar_bytes({f"b/f{i}": b"" for i in range(5000)}, tarfile.USTAR_FORMAT))


def _huge_member(tmp: Path) -> bytes:
    return gzip.compress(header("b/evidence.json", 8 << 30) + b"\0" * 4096)


def _deep_evidence(tmp: Path) -> bytes:
    files = good_members(tmp)
    files["evidence.json"] = b'{"schema": "gatewaydoctor.evidence/1", "items": ' + \
        b"[" * 100_000 + b"]" * 100_000 + b"}"
    return gzip.compress(tar_bytes({f"b/{k}": v for k, v in files.items()}))


def _wrong_type_in_bundle(tmp: Path) -> bytes:
    files = good_members(tmp)
    ev = json.loads(files["evidence.json"])
    ev["items"]["nginx.dump"]["stdout"] = ["user www-data;"]
    files["evidence.json"] = json.dumps(ev).encode()
    return gzip.compress(tar_bytes({f"b/{k}": v for k, v in files.items()}))


def _evidence_twice(tmp: Path) -> bytes:
    files = good_members(tmp)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name in ("manifest.json", "evidence.json", "evidence.json"):
            info = tarfile.TarInfo(f"b/{name}")
            info.size = len(files[name])
            tar.addfile(info, io.BytesIO(files[name]))
    return gzip.compress(raw.getvalue())


def _sparse_member(tmp: Path) -> bytes:
    return gzip.compress(header("b/evidence.json", 0, tarfile.GNUTYPE_SPARSE) + b"\0" * 1024)


def _hard_link(tmp: Path) -> bytes:
    return gzip.compress(header("b/evidence.json", 0, tarfile.LNKTYPE) + b"\0" * 1024)


def _corrupted(tmp: Path) -> bytes:
    good = tmp / "c.tar.gz"
    bundle.write(json.loads((LAB / "healthy.json").read_text()), good)
    data = bytearray(good.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = b"\xa5" * 64
    return bytes(data)


# case -> (how to build it, what the sentence says)
CASES: dict[str, tuple[Callable[[Path], bytes], str]] = {
    "gzip-bomb-200x64MiB-members": (_members_of_64_mib, "is too large"),
    "200x15MiB-members": (_members_under_the_limit, "unpacks to more than 64 MiB"),
    "gzip-bomb-1999x64MiB-gzip-members": (_gzip_members, "unpacks to more than 64 MiB"),
    "many-small-gzip-members": (_many_small_gzip_members, "more than 64 gzip members"),
    "pax-header-200MiB": (_pax_header, "extended tar header of 209715200 bytes"),
    "gnu-long-name-200MiB": (_gnu_long_name, "extended tar header of 209715200 bytes"),
    "3000-headers-in-a-row": (_header_chain, "more than 8 extended tar headers in a row"),
    "5000-members": (_many_members, "more than 2000 members"),
    "member-claims-8GiB": (_huge_member, "is too large (8589934592 bytes)"),
    "evidence-nested-100k-deep": (_deep_evidence, "evidence.json nests objects or lists more "
                                                  "than 64 deep"),
    "evidence-wrong-type": (_wrong_type_in_bundle,
                            'items["nginx.dump"].stdout: expected a string, got a list'),
    "evidence-json-twice": (_evidence_twice, "holds evidence.json twice"),
    "sparse-member": (_sparse_member, "a link or special file"),
    "hard-link": (_hard_link, "a link or special file"),
    "corrupted-member": (_corrupted, "not a readable .tar.gz"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_archive_is_refused_fast_in_one_sentence(case: str, tmp_path: Path) -> None:
    build, expected = CASES[case]
    path = tmp_path / f"{case}.tar.gz"
    path.write_bytes(build(tmp_path))
    (tmp_path / "gzip-members.part").unlink(missing_ok=True)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert_refused(run_cli("diagnose", "--from", str(path)), path, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing unpacked


def test_reading_stops_at_the_time_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The last safety net: a bundle that takes too long is refused (no limit is hit here)."""
    path = tmp_path / "slow.tar.gz"
    path.write_bytes(_members_under_the_limit(tmp_path))
    monkeypatch.setattr(bundle, "MAX_READ_SECONDS", 0.0)
    assert main(["diagnose", "--from", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "takes more than 0.0 seconds to read" in err, err


def test_a_real_bundle_is_read_well_within_the_limits(tmp_path: Path) -> None:
    """The limits leave room: the largest lab recording's bundle reads back, and its
    uncompressed size is a small share of each limit."""
    largest = max(LAB.glob("*.json"), key=lambda p: p.stat().st_size)
    ev = json.loads(largest.read_text())
    ev.pop("lab", None)
    path = tmp_path / "big.tar.gz"
    bundle.write(ev, path)
    start = time.monotonic()
    back = bundle.read(path)
    assert time.monotonic() - start < 0.5
    assert back.evidence.items.keys() == ev["items"].keys()
    with tarfile.open(path) as tar:
        sizes = [m.size for m in tar]
    assert len(sizes) < bundle.MAX_MEMBERS / 20
    assert max(sizes) < bundle.MAX_MEMBER_BYTES / 20
    assert sum(sizes) < bundle.MAX_TOTAL_BYTES / 50
