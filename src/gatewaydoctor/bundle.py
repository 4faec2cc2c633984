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
from typing import TYPE_CHECKING, Any, NamedTuple

from . import __version__
from .errors import EvidenceError
from .formats import sources
from .i18n import _
from .redact import Redacted, Redactor

if TYPE_CHECKING:
    from .evidence import Evidence

SCHEMA = "gatewaydoctor.bundle/1"
MAX_MEMBER_BYTES = 64 << 20
MAX_MEMBERS = 2000
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
    top = Path(str(path)).name.removesuffix(".tar.gz").removesuffix(".tgz") or "bundle"
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


def _safe_members(tar: tarfile.TarFile, path: str) -> dict[str, tarfile.TarInfo]:
    found: dict[str, tarfile.TarInfo] = {}
    for n, info in enumerate(tar):
        if n >= MAX_MEMBERS:
            raise BundleError(_("{path} has more than {n} members: not a bundle written by "
                                "gatewaydoctor; ask for a new one ({command})").format(
                                    path=path, n=MAX_MEMBERS, command="`gatewaydoctor bundle`"))
        name = info.name
        parts = name.split("/")
        plain = info.isfile() or info.isdir()
        if name.startswith("/") or ".." in parts or "\\" in name or not plain:
            what = _("outside the bundle directory") if plain else _("a link or special file")
            raise BundleError(_(
                "{path} is refused: member {name} is {what} (a bundle holds plain files "
                "only); do not unpack it, ask for a new one made with {command}").format(
                    path=path, name=repr(name), what=what, command="`gatewaydoctor bundle`"))
        if info.isfile():
            if info.size > MAX_MEMBER_BYTES:
                raise BundleError(_("{path}: member {name} is too large ({size} bytes) for a "
                                    "bundle; ask for a new one made with {command}").format(
                                        path=path, name=repr(name), size=info.size,
                                        command="`gatewaydoctor bundle`"))
            found["/".join(parts[1:]) if len(parts) > 1 else name] = info
    return found


def read(path: str | Path) -> Bundle:
    """Read and check a bundle; BundleError says in one sentence what is wrong and what to do."""
    path = str(path)
    redo = _("make a new one with {command} on the host and send it again").format(
        command="`gatewaydoctor bundle`")
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            members = _safe_members(tar, path)
            for need in ("manifest.json", "evidence.json"):
                if need not in members:
                    raise BundleError(_("{path} is not a gatewaydoctor bundle: it has no "
                                        "{file}; {redo}").format(path=path, file=need, redo=redo))
            texts = {}
            for need in ("manifest.json", "evidence.json"):
                fh = tar.extractfile(members[need])
                if fh is None:
                    raise BundleError(_("{path}: {file} cannot be read; {redo}").format(
                        path=path, file=need, redo=redo))
                texts[need] = fh.read()
    except FileNotFoundError:
        raise BundleError(_("no such file: {path}").format(path=path)) from None
    except PermissionError:
        raise BundleError(_("cannot read {path}: permission denied").format(path=path)) from None
    except IsADirectoryError:
        raise BundleError(_("{path} is a directory, not a bundle").format(path=path)) from None
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        truncated = isinstance(exc, EOFError) or "end of" in str(exc).lower()
        raise BundleError((_(
            "{path} is truncated ({error}); if it was copied, copy it again in binary mode, or "
            "{redo}") if truncated else _(
            "{path} is not a readable .tar.gz ({error}); if it was copied, copy it again in "
            "binary mode, or {redo}")).format(path=path, error=type(exc).__name__,
                                             redo=redo)) from None
    try:
        manifest = json.loads(texts["manifest.json"])
        raw_ev = json.loads(texts["evidence.json"])
    except ValueError:
        raise BundleError(_("{path}: manifest.json or evidence.json is not JSON; {redo}").format(
            path=path, redo=redo)) from None
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        got = manifest.get("schema") if isinstance(manifest, dict) else type(manifest).__name__
        raise BundleError(_("{path} is not a gatewaydoctor bundle this version reads (manifest "
                            "schema {got}, want {want}); {redo}").format(
                                path=path, got=repr(got), want=repr(SCHEMA), redo=redo))
    from .evidence import Evidence

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
