"""Evidence bundles: one small redacted `.tar.gz` that anyone can diagnose offline.

Layout of a bundle (every member under one top directory, `<name>/`):

    manifest.json          host, times, tool version, options, log windows, every source
                           gathered or failed and why, sizes, redaction counts by kind
    evidence.json          the redacted evidence, exactly as `diagnose --from` replays it
    evidence/<source>.txt  one readable file per source (command, rc, output, data)

Reading never extracts to disk: members are read in memory, and an archive whose members
are not plain files under the expected names (absolute paths, `..`, links, devices) is
refused before anything in it is used.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
import threading
import time
import zlib
from collections.abc import Mapping
from pathlib import Path
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple

from . import __version__
from .errors import EvidenceError
from .formats import sources
from .i18n import _
from .redact import Redacted, Redactor

if TYPE_CHECKING:
    from .evidence import Evidence

SCHEMA = "gatewaydoctor.bundle/1"
# Reading limits. A bundle of a busy host is a few MiB unpacked (the agent bounds every log
# window); these refuse a hostile archive in well under a second and ~100 MB of memory.
MAX_MEMBERS = 2000  # one member per source, plus manifest.json and evidence.json
MAX_MEMBER_BYTES = 16 << 20  # any one member, as its header says, before it is read
MAX_TOTAL_BYTES = 64 << 20  # the whole tar stream, uncompressed, counted as it is inflated
MAX_HEADER_BYTES = 64 << 10  # one PAX or GNU long-name header (read whole by tarfile)
MAX_HEADERS_IN_A_ROW = 8  # extended headers before a member (tarfile chains them by recursion)
MAX_GZIP_MEMBERS = 64  # the writer makes one or two
MAX_READ_SECONDS = 5.0  # a safety net: the limits above end a bomb long before
CHUNK = 64 << 10
GZIP_MAGIC = b"\x1f\x8b"


class BundleError(EvidenceError):
    """The file is not a usable bundle; the message names it and says what to do."""


class Bundle(NamedTuple):
    """A bundle read back: its manifest and the evidence it replays."""

    path: str
    manifest: Mapping[str, Any]
    evidence: Evidence


def default_name(host: str, when: float | None = None) -> str:
    """`gatewaydoctor-<host>-<UTC time>.tar.gz`, safe as a file name."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))
    safe = re.sub(r"[^A-Za-z0-9.-]+", "_", host).strip("._") or "host"
    return f"gatewaydoctor-{safe}-{stamp}.tar.gz"


def member_name(source: str, taken: set[str]) -> str:
    """A readable, unique, path-safe file name for a source key."""
    base = re.sub(r"[^A-Za-z0-9._@:=+-]+", "_", source).replace(":", "_").strip("._")[:150]
    name, n = f"{base or 'item'}.txt", 1
    while name in taken:
        n += 1
        name = f"{base}.{n}.txt"
    taken.add(name)
    return name


def _readable(item: Mapping[str, Any]) -> str:
    head = [f"# source: {item.get('source')}", f"# kind: {item.get('kind')}"]
    if item.get("argv"):
        head.append("# command: " + " ".join(str(a) for a in item["argv"]))
    if item.get("path"):
        head.append(f"# path: {item['path']}")
    for key in ("rc", "duration", "size", "offset"):
        if item.get(key) is not None:
            head.append(f"# {key}: {item[key]}")
    if item.get("truncated"):
        head.append("# truncated: yes (bounded window; see manifest.json windows)")
    if item.get("error"):
        head.append(f"# error ({item.get('error_kind')}): {item['error']}")
    parts = ["\n".join(head)]
    if item.get("stdout") and str(item.get("source", "")).startswith(sources.JOURNAL_PREFIX):
        head.append("# shown as `time identifier[pid]: message`; evidence.json has every field")
        parts = ["\n".join(head), "## journal\n" + _journal_text(str(item["stdout"]))]
    elif item.get("stdout"):
        parts.append("## stdout\n" + str(item["stdout"]))
    if item.get("stderr"):
        parts.append("## stderr\n" + str(item["stderr"]))
    if item.get("data") is not None:
        parts.append("## data\n" + _data_text(item["data"]))
    return "\n\n".join(parts).rstrip("\n") + "\n"


def _data_text(data: Any) -> str:
    """Structured data for reading: a line per field, a list as one JSON value per line.

    (json.dumps with indent runs the pure-Python encoder: ten times slower on a process table.)
    """
    if not isinstance(data, Mapping):
        return json.dumps(data, sort_keys=True, ensure_ascii=False)
    lines = []
    for key in sorted(data):
        value = data[key]
        if isinstance(value, list) and value:
            lines.append(f"{key}:")
            lines += ["  " + json.dumps(v, sort_keys=True, ensure_ascii=False) for v in value]
        else:
            lines.append(f"{key}: {json.dumps(value, sort_keys=True, ensure_ascii=False)}")
    return "\n".join(lines)


def _manifest_text(manifest: Mapping[str, Any]) -> str:
    """The manifest as JSON a person reads: a line per key, a line per source.

    (C encoder only: json.dumps with indent is pure Python, and this is written last.)
    """
    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = []
    for key, value in manifest.items():
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            body = ",\n".join("  " + dumps(v) for v in value)
            lines.append(f" {dumps(key)}: [\n{body}\n ]")
        else:
            lines.append(f" {dumps(key)}: {dumps(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _journal_text(text: str) -> str:
    """journalctl -o json records as the short lines people read."""
    lines = []
    for raw in text.splitlines():
        try:
            rec = json.loads(raw)
        except ValueError:
            lines.append(raw)
            continue
        if not isinstance(rec, dict):
            lines.append(raw)
            continue
        try:
            usec = int(rec.get("__REALTIME_TIMESTAMP", 0))
            when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(usec / 1e6)) + \
                f".{usec % 1_000_000:06d}Z"
        except (TypeError, ValueError):
            when = "?"
        ident = rec.get("SYSLOG_IDENTIFIER") or rec.get("_COMM") or "?"
        msg = rec.get("MESSAGE")
        if isinstance(msg, list):  # non-UTF-8 messages come as byte arrays
            msg = bytes(b for b in msg if isinstance(b, int)).decode("utf-8", "replace")
        lines.append(f"{when} {ident}[{rec.get('_PID', '?')}]: {msg}")
    return "\n".join(lines)


def _item_bytes(item: Mapping[str, Any]) -> int:
    n = len((item.get("stdout") or "").encode()) + len((item.get("stderr") or "").encode())
    if item.get("data") is not None:
        n += len(json.dumps(item["data"]).encode())
    return n


class Early:
    """Items redacted and laid out while the gathering goes on (no IP/host masking)."""

    def __init__(self) -> None:
        self.redacted: dict[str, Redacted] = {}
        self.texts: dict[str, tuple[Mapping[str, Any], bytes]] = {}

    def take(self, items: SimpleQueue[dict[str, Any] | None]) -> None:
        """Redact each item put on the queue until None comes (run in one thread)."""
        while (item := items.get()) is not None:
            redactor = Redactor()
            source, new = redactor.item(str(item["source"]), item)
            self.redacted[str(item["source"])] = Redacted(item, source, new, redactor.counts)
            self.texts[source] = (new, _readable(new).encode())


def build(evidence: Mapping[str, Any], redactor: Redactor, *, created: float | None = None,
          early: Early | None = None) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Redact the evidence and lay out the bundle: (manifest, {member name: bytes})."""
    # What is written replays (tests read back bundles of every lab recording): the
    # redactor changes strings, never the shape the agent gave.
    red = redactor.evidence(evidence, early.redacted if early else None)
    counts = dict(sorted(redactor.counts.items()))
    taken: set[str] = set()
    members: dict[str, bytes] = {}
    sources = []
    texts = early.texts if early else {}
    for source, item in (red.get("items") or {}).items():
        fname = "evidence/" + member_name(source, taken)
        laid_out = texts.get(source)
        members[fname] = laid_out[1] if laid_out and laid_out[0] is item else \
            _readable(item).encode()
        failed = bool(item.get("error")) and item.get("error_kind") != "probe"
        sources.append({
            "source": source, "kind": item.get("kind"),
            "status": "failed" if failed else "gathered",
            "reason": item.get("error") if failed else None,
            "error_kind": item.get("error_kind") if failed else None,
            "bytes": _item_bytes(item), "truncated": bool(item.get("truncated")),
            "file": fname,
        })
    ev_json = json.dumps(red, indent=None, sort_keys=True, ensure_ascii=False).encode()
    members = {"evidence.json": ev_json, **members}
    options = dict(red.get("options") or {})
    windows = options.pop("windows", None)
    manifest: dict[str, Any] = {
        "schema": SCHEMA,
        "host": red.get("host"),
        "taken_at": red.get("time"),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)),
        "tool_version": __version__,
        "agent_version": red.get("tool_version"),
        "target_url": red.get("target_url"),
        "options": {**options, "mask_ips": redactor.mask_ips, "mask_hosts": redactor.mask_hosts},
        "windows": windows,
        "gather_seconds": red.get("duration"),
        "sources": sources,
        "failed": [s["source"] for s in sources if s["status"] == "failed"],
        "sizes": {"evidence_json": len(ev_json),
                  "members": {k: len(v) for k, v in members.items()}},
        "redactions": counts,
    }
    # The manifest goes through the same redactor (sources and reasons name paths and URLs);
    # its counts are those of the evidence, taken before.
    manifest = redactor.whole(manifest)
    manifest["redactions"] = counts
    return manifest, members


SPLIT_AT = 128 * 1024


def _gzip(data: bytes) -> bytes:
    """gzip at level 6 (the default: half the time of 9 for a 3% larger archive).

    The last, serial step of a bundle: a large one is compressed as two gzip members at
    once (zlib lets go of the GIL), which gzip, tar and Python read as one stream. The
    halves are cut at a fixed place, so the same input gives the same bytes.
    """
    if len(data) < SPLIT_AT:
        return gzip.compress(data, compresslevel=6, mtime=0)
    half = len(data) // 2
    first: list[bytes] = []
    other = threading.Thread(target=lambda: first.append(
        gzip.compress(data[:half], compresslevel=6, mtime=0)))
    other.start()
    second = gzip.compress(data[half:], compresslevel=6, mtime=0)
    other.join()
    return first[0] + second


def write(evidence: Mapping[str, Any], path: str | Path, redactor: Redactor | None = None, *,
          created: float | None = None, early: Early | None = None) -> dict[str, Any]:
    """Write a redacted bundle to path; return its manifest. Deterministic for one input."""
    redactor = redactor or Redactor()
    manifest, members = build(evidence, redactor, created=created, early=early)
    top = Path(str(path)).name
    for suffix in (".tar.gz", ".tgz"):
        top = top[:-len(suffix)] if top.endswith(suffix) else top
    top = top or "bundle"
    mtime = int(created if created is not None else time.time())
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        ordered = {"manifest.json": _manifest_text(manifest).encode(), **members}
        for name, data in ordered.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size, info.mtime, info.mode = len(data), mtime, 0o644
            info.uname = info.gname = "gatewaydoctor"
            tar.addfile(info, io.BytesIO(data))
    Path(path).write_bytes(_gzip(raw.getvalue()))
    return manifest


class _Refused(Exception):
    """A limit was passed while reading: `what` says which (read() names the file)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _mib(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB"


class _Inflated:
    """The uncompressed stream of a .tar.gz, read in bounded pieces: never more than
    MAX_TOTAL_BYTES, at most MAX_GZIP_MEMBERS gzip members, within MAX_READ_SECONDS.

    (tarfile's own gzip reading inflates whatever a member claims, one bomb member at a
    time; here every piece is counted before the next is made.)
    """

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.members = 1
        self.total = 0
        self.pending = b""  # compressed bytes read but not yet inflated
        self.out = b""  # inflated bytes, handed out from self.at on
        self.at = 0
        self.deadline = time.monotonic() + MAX_READ_SECONDS

    def read(self, size: int = -1) -> bytes:
        """Up to size bytes (b"" at the end of the stream), as tarfile asks for them."""
        while self.at >= len(self.out):
            self.out, self.at = self._more(), 0
            if not self.out:
                return b""
        end = len(self.out) if size < 0 else self.at + size
        piece = self.out[self.at:end]
        self.at += len(piece)
        return piece

    def _more(self) -> bytes:
        """The next inflated piece; b"" at a clean end."""
        while True:
            if time.monotonic() > self.deadline:
                raise _Refused(_("it takes more than {n} seconds to read").format(
                    n=MAX_READ_SECONDS))
            if self.inflate.eof:
                self.pending = self.pending.lstrip(b"\0")  # gzip allows zero padding
                if not self.pending:
                    self.pending = self.raw.read(CHUNK).lstrip(b"\0")
                    if not self.pending:
                        return b""
                    continue
                self.members += 1
                if self.members > MAX_GZIP_MEMBERS:
                    raise _Refused(_("it has more than {n} gzip members").format(
                        n=MAX_GZIP_MEMBERS))
                self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            if not self.pending:
                self.pending = self.raw.read(CHUNK)
                if not self.pending:
                    raise EOFError("compressed file ended before the end-of-stream marker")
            piece = self.inflate.decompress(self.pending, CHUNK)
            self.pending = self.inflate.unconsumed_tail or self.inflate.unused_data
            self.total += len(piece)
            if self.total > MAX_TOTAL_BYTES:
                raise _Refused(_("it unpacks to more than {size}").format(
                    size=_mib(MAX_TOTAL_BYTES)))
            if piece:
                return piece


_EXTENSIONS = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE,
               tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)


class _CheckedInfo(tarfile.TarInfo):
    """A tar header whose extension headers (PAX, GNU long names) are checked for size, and
    counted, before tarfile reads them: each is read whole into memory, and each chains to
    the next header by recursion."""

    def _proc_member(self, tar: tarfile.TarFile) -> tarfile.TarInfo:
        in_a_row = getattr(tar, "_gd_extensions", 0)
        if self.type in _EXTENSIONS:
            if self.size > MAX_HEADER_BYTES:
                raise _Refused(_("it has an extended tar header of {size} bytes (at most "
                                 "{limit})").format(size=self.size, limit=_mib(MAX_HEADER_BYTES)))
            in_a_row += 1
            if in_a_row > MAX_HEADERS_IN_A_ROW:
                raise _Refused(_("it has more than {n} extended tar headers in a row").format(
                    n=MAX_HEADERS_IN_A_ROW))
        else:
            in_a_row = 0
        tar._gd_extensions = in_a_row  # type: ignore[attr-defined]
        member: tarfile.TarInfo = super()._proc_member(tar)  # type: ignore[misc]
        return member


def _short(name: str) -> str:
    """A member name for a sentence (a hostile one can be 64 KiB long)."""
    return repr(name if len(name) <= 80 else name[:77] + "...")


def _member_path(info: tarfile.TarInfo, path: str) -> str:
    """The member's name under the top directory, after checking it is a plain file or
    directory inside it and small enough."""
    name = info.name
    parts = name.split("/")
    plain = info.type in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE)
    if name.startswith("/") or ".." in parts or "\\" in name or not plain:
        what = _("outside the bundle directory") if plain else _("a link or special file")
        raise BundleError(_(
            "{path} is refused: member {name} is {what} (a bundle holds plain files "
            "only); do not unpack it, ask for a new one made with {command}").format(
                path=path, name=_short(name), what=what, command="`gatewaydoctor bundle`"))
    if info.isfile() and info.size > MAX_MEMBER_BYTES:
        raise BundleError(_("{path}: member {name} is too large ({size} bytes) for a "
                            "bundle; ask for a new one made with {command}").format(
                                path=path, name=_short(name), size=info.size,
                                command="`gatewaydoctor bundle`"))
    return "/".join(parts[1:]) if len(parts) > 1 else name


def _wanted_members(path: str) -> dict[str, bytes]:
    """manifest.json and evidence.json, read in one bounded pass over the archive; every
    member is checked on the way, none is written anywhere."""
    texts: dict[str, bytes] = {}
    with open(path, "rb") as raw, tarfile.open(fileobj=_Inflated(raw), mode="r|",  # type: ignore[call-overload]
                                               tarinfo=_CheckedInfo) as tar:
        for n, info in enumerate(tar):
            if n >= MAX_MEMBERS:
                raise _Refused(_("it has more than {n} members").format(n=MAX_MEMBERS))
            name = _member_path(info, path)
            if name in ("manifest.json", "evidence.json") and info.isfile():
                fh = tar.extractfile(info)
                if name in texts or fh is None:
                    raise _Refused(_("it holds {file} twice").format(file=name))
                texts[name] = fh.read()
    return texts


def read(path: str | Path) -> Bundle:
    """Read and check a bundle; BundleError says in one sentence what is wrong and what to do."""
    path = str(path)
    redo = _("make a new one with {command} on the host and send it again").format(
        command="`gatewaydoctor bundle`")
    try:
        texts = _wanted_members(path)
    except _Refused as exc:
        raise BundleError(_("{path} is refused: {limit} (a bundle written by gatewaydoctor "
                            "never does); do not unpack it, {redo}").format(
                                path=path, limit=exc.what, redo=redo)) from None
    except FileNotFoundError:
        raise BundleError(_("no such file: {path}").format(path=path)) from None
    except PermissionError:
        raise BundleError(_("cannot read {path}: permission denied").format(path=path)) from None
    except IsADirectoryError:
        raise BundleError(_("{path} is a directory, not a bundle").format(path=path)) from None
    except (tarfile.TarError, EOFError, OSError, zlib.error, UnicodeError) as exc:
        truncated = isinstance(exc, EOFError) or "end of" in str(exc).lower()
        raise BundleError((_(
            "{path} is truncated ({error}); if it was copied, copy it again in binary mode, or "
            "{redo}") if truncated else _(
            "{path} is not a readable .tar.gz ({error}); if it was copied, copy it again in "
            "binary mode, or {redo}")).format(
                path=path, error="zlib.error" if isinstance(exc, zlib.error) else
                type(exc).__name__, redo=redo)) from None
    for need in ("manifest.json", "evidence.json"):
        if need not in texts:
            raise BundleError(_("{path} is not a gatewaydoctor bundle: it has no "
                                "{file}; {redo}").format(path=path, file=need, redo=redo))
    from .evidence import Evidence, parse_json

    try:
        manifest = parse_json(texts["manifest.json"], "manifest.json")
        raw_ev = parse_json(texts["evidence.json"], "evidence.json")
    except EvidenceError as exc:
        raise BundleError(_("{path}: {error}; {redo}").format(
            path=path, error=exc, redo=redo)) from None
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        got = manifest.get("schema") if isinstance(manifest, dict) else type(manifest).__name__
        raise BundleError(_("{path} is not a gatewaydoctor bundle this version reads (manifest "
                            "schema {got}, want {want}); {redo}").format(
                                path=path, got=_short(str(got)), want=repr(SCHEMA), redo=redo))
    try:
        evidence = Evidence.from_dict(raw_ev)
    except EvidenceError as exc:
        raise BundleError(_("{path}: evidence.json is unusable: {error}; {redo}").format(
            path=path, error=exc, redo=redo)) from None
    return Bundle(path=path, manifest=manifest, evidence=evidence)


def load_any(path: str | Path) -> tuple[Evidence, str]:
    """Evidence from a bundle (.tar.gz) or an evidence JSON file, and how to name its origin."""
    path = str(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
    except FileNotFoundError:
        raise BundleError(_("no such file: {path} (give a bundle made by {command} or an "
                            "evidence JSON file)").format(
                                path=path, command="`gatewaydoctor bundle`")) from None
    except IsADirectoryError:
        raise BundleError(_("{path} is a directory; give the bundle file itself").format(
            path=path)) from None
    except OSError as exc:
        raise BundleError(_("cannot read {path}: {error}").format(
            path=path, error=exc.strerror)) from None
    if head == GZIP_MAGIC:
        return read(path).evidence, _("the bundle {path}").format(path=path)
    if head[:1] in (b"{", b" ", b"\n", b"\t"):
        from .evidence import load

        return load(path), _("the evidence file {path}").format(path=path)
    raise BundleError(_("{path} is neither a gatewaydoctor bundle (.tar.gz) nor evidence JSON; "
                        "make one with {command} on the host").format(
                            path=path, command="`gatewaydoctor bundle`"))
