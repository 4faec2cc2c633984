"""The typed Evidence model, loaded from the agent's JSON dict (live or replayed from a file).

Replayed evidence is input from anywhere: its JSON is bounded in size and depth, and every
field is checked for its type before use, so a wrong one is a sentence naming it
(`items["journal.unit:x"].stdout: expected a string, got a list`), not a TypeError later.
(A table of expected types checked by hand, in 0.1-0.3 ms on a lab recording: importing
jsonschema (54 ms) or pydantic (25 ms) alone would cost more on each `--from`, for the same
sentence; tests/unit/test_hostile_evidence.py measures the check.)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import EvidenceError as EvidenceError
from .formats import sources

SCHEMA = "gatewaydoctor.evidence/1"
KINDS = ("command", "file", "probe", "listing")
# An evidence file (or a bundle's evidence.json): the lab's are < 0.3 MiB, a busy host's a
# few MiB; 16 MiB of hostile JSON still parses in ~0.2 s.
MAX_JSON_BYTES = 16 << 20
MAX_DEPTH = 64  # nesting of objects and lists; the lab recordings nest 7 deep at most

_IS: dict[str, Callable[[Any], bool]] = {
    "a string": lambda v: isinstance(v, str),
    "an integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "a number": lambda v: (isinstance(v, (int, float)) and not isinstance(v, bool)
                           and math.isfinite(v)),
    "true or false": lambda v: isinstance(v, bool),
    "an object": lambda v: isinstance(v, dict),
    "a list": lambda v: isinstance(v, list),
}
# Every field the model reads, and what it must be (None is allowed for each: absent).
TOP_FIELDS = {"host": "a string", "time": "a string", "tool_version": "a string",
              "target_url": "a string", "items": "an object", "failures": "a list",
              "options": "an object", "duration": "a number"}
ITEM_FIELDS = {"source": "a string", "kind": "a string", "argv": "a list", "path": "a string",
               "rc": "an integer", "stdout": "a string", "stderr": "a string",
               "data": "an object", "duration": "a number", "truncated": "true or false",
               "offset": "an integer", "size": "an integer", "error": "a string",
               "error_kind": "a string"}
OPTION_FIELDS = {"euid": "an integer", "windows": "an object"}


def _got(value: Any) -> str:
    """What a JSON value is, as the sentence says it."""
    if value is None:
        return "null"
    for name, test in _IS.items():
        if test(value):
            return name
    return "a non-finite number" if isinstance(value, float) else type(value).__name__


def _key(key: str) -> str:
    """A key as it appears in a field path (quoted; a hostile one shortened)."""
    return json.dumps(key if len(key) <= 80 else key[:77] + "...")  # control characters escaped


def _check_fields(d: Mapping[str, Any], expected: Mapping[str, str], where: str) -> None:
    """Raise EvidenceError naming the first field of d whose value is not of its type."""
    for name, want in expected.items():
        value = d.get(name)
        if value is not None and not _IS[want](value):
            path = f"{where}.{name}" if where else name
            raise EvidenceError(f"{path}: expected {want}, got {_got(value)}")


def check(d: Any) -> None:
    """Check the shape of the agent's dict; EvidenceError names the first wrong field."""
    if not isinstance(d, dict) or d.get("schema") != SCHEMA:
        got = d.get("schema") if isinstance(d, dict) else _got(d)
        got = got[:80] if isinstance(got, str) else got
        raise EvidenceError(f"not gatewaydoctor evidence (schema {got!r}, want {SCHEMA!r})")
    _check_fields(d, TOP_FIELDS, "")
    _check_fields(d.get("options") or {}, OPTION_FIELDS, "options")
    for n, failure in enumerate(d.get("failures") or ()):
        if not isinstance(failure, dict):
            raise EvidenceError(f"failures[{n}]: expected an object, got {_got(failure)}")
    for key, raw in (d.get("items") or {}).items():
        where = f"items[{_key(key)}]"
        if not isinstance(raw, dict):
            raise EvidenceError(f"{where}: expected an object, got {_got(raw)}")
        _check_fields(raw, ITEM_FIELDS, where)
        for n, arg in enumerate(raw.get("argv") or ()):
            if not isinstance(arg, str):
                raise EvidenceError(f"{where}.argv[{n}]: expected a string, got {_got(arg)}")


def too_deep(value: Any) -> bool:
    """Whether objects and lists nest more than MAX_DEPTH deep: a walk one level at a time
    (no recursion), looking only at containers (a list of a million strings is one step)."""
    level = [value] if isinstance(value, (dict, list)) else []
    for _depth in range(MAX_DEPTH):
        below: list[Any] = []
        for container in level:
            values = container.values() if isinstance(container, dict) else container
            below += [v for v in values if isinstance(v, (dict, list))]
        if not below:
            return False
        level = below
    return True


def parse_json(data: bytes | str, name: str) -> Any:
    """JSON text to Python values, bounded: size, depth; EvidenceError names what is wrong."""
    if len(data) > MAX_JSON_BYTES:
        raise EvidenceError(f"{name} is larger than {MAX_JSON_BYTES >> 20} MiB (real evidence is "
                            "a few MiB)")
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise EvidenceError(f"{name} is not UTF-8 text (byte {exc.start})") from None
    deep = EvidenceError(f"{name} nests objects or lists more than {MAX_DEPTH} deep (evidence "
                         "nests a few levels)")
    try:
        value = json.loads(text)
    except RecursionError:
        # Deeper than the interpreter nests: json's C decoder stops there by itself (it
        # guards its recursion), well before memory or the stack are at risk.
        raise deep from None
    except ValueError as exc:
        raise EvidenceError(f"{name} is not JSON: {str(exc)[:200]}") from None
    if too_deep(value):
        raise deep
    return value


@dataclass(frozen=True)
class Item:
    """One piece of raw evidence: a command run, a file read, a probe made or a listing."""

    source: str
    kind: str
    argv: tuple[str, ...] | None = None
    path: str | None = None
    rc: int | None = None
    stdout: str | None = None
    stderr: str | None = None
    data: Mapping[str, Any] | None = None
    duration: float = 0.0
    truncated: bool = False
    offset: int | None = None
    size: int | None = None
    error: str | None = None
    error_kind: str | None = None

    @property
    def ok(self) -> bool:
        """True when the item was gathered (a command may still have a non-zero rc)."""
        return self.error is None or self.error_kind == "probe"

    @property
    def subject(self) -> str:
        """The part of the source key after its kind (unit name, path, endpoint)."""
        return sources.subject(self.source)

    def label(self) -> str:
        """How a human reads where this came from: the command line or the path."""
        if self.argv:
            return " ".join(self.argv)
        if self.path:
            return self.path
        return self.source

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Item:
        """Build an item from the agent's dict, checking the fields that matter."""
        try:
            source = str(d["source"])
            kind = str(d["kind"])
        except KeyError as exc:
            raise EvidenceError(f"evidence item lacks {exc.args[0]!r}") from None
        if kind not in KINDS:
            raise EvidenceError(f"items[{_key(source)}].kind: unknown kind {_key(kind)} "
                                f"(one of {', '.join(KINDS)})")
        argv = d.get("argv")
        return cls(
            source=source,
            kind=kind,
            argv=tuple(str(a) for a in argv) if argv else None,
            path=d.get("path"),
            rc=d.get("rc"),
            stdout=d.get("stdout"),
            stderr=d.get("stderr"),
            data=d.get("data"),
            duration=float(d.get("duration") or 0.0),
            truncated=bool(d.get("truncated")),
            offset=d.get("offset"),
            size=d.get("size"),
            error=d.get("error"),
            error_kind=d.get("error_kind"),
        )


@dataclass(frozen=True)
class Evidence:
    """Everything gathered on one host at one time."""

    host: str
    time: str
    tool_version: str
    target_url: str | None
    items: Mapping[str, Item]
    failures: tuple[Mapping[str, Any], ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    duration: float = 0.0

    def get(self, source: str) -> Item | None:
        """Return the item with this exact source key, if gathered or attempted."""
        return self.items.get(source)

    def prefixed(self, prefix: str) -> Iterator[Item]:
        """Yield the items whose source key starts with prefix (e.g. `journal.unit:`)."""
        for key, item in self.items.items():
            if key.startswith(prefix):
                yield item

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Evidence:
        """Load the agent's dict; raise EvidenceError if it is not gatewaydoctor evidence."""
        check(d)
        items = {}
        for key, raw in (d.get("items") or {}).items():
            item = Item.from_dict({**raw, "source": key})
            items[key] = item
        return cls(
            host=str(d.get("host") or ""),
            time=str(d.get("time") or ""),
            tool_version=str(d.get("tool_version") or ""),
            target_url=d.get("target_url"),
            items=items,
            failures=tuple(d.get("failures") or ()),
            options=dict(d.get("options") or {}),
            duration=float(d.get("duration") or 0.0),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-serialisable dict this evidence was loaded from."""
        items = {}
        for key, item in self.items.items():
            raw = asdict(item)
            raw["argv"] = list(item.argv) if item.argv else None
            raw["data"] = dict(item.data) if item.data is not None else None
            items[key] = raw
        return {
            "schema": SCHEMA,
            "host": self.host,
            "time": self.time,
            "tool_version": self.tool_version,
            "target_url": self.target_url,
            "options": dict(self.options),
            "duration": self.duration,
            "items": items,
            "failures": [dict(f) for f in self.failures],
        }


def load(path: str | Path) -> Evidence:
    """Load evidence from a JSON file written by `gatewaydoctor gather` or a test fixture."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_JSON_BYTES + 1)  # never more than the limit in memory
    except OSError as exc:
        raise EvidenceError(f"cannot read evidence file {path}: {exc.strerror}") from None
    try:
        return Evidence.from_dict(parse_json(data, "it"))
    except EvidenceError as exc:
        raise EvidenceError(f"evidence file {path}: {exc}") from None
