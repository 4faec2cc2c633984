"""The typed Evidence model, loaded from the agent's JSON dict (live or replayed from a file)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import EvidenceError as EvidenceError
from .formats import sources

SCHEMA = "gatewaydoctor.evidence/1"
KINDS = ("command", "file", "probe", "listing")


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
            raise EvidenceError(f"evidence item {source!r} has unknown kind {kind!r}")
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
        if not isinstance(d, Mapping) or d.get("schema") != SCHEMA:
            got = d.get("schema") if isinstance(d, Mapping) else type(d).__name__
            raise EvidenceError(f"not gatewaydoctor evidence (schema {got!r}, want {SCHEMA!r})")
        raw_items = d.get("items") or {}
        if not isinstance(raw_items, Mapping):
            raise EvidenceError("evidence 'items' must be an object keyed by source")
        items = {}
        for key, raw in raw_items.items():
            item = Item.from_dict({"source": key, **raw})
            items[key] = item
        return cls(
            host=str(d.get("host", "")),
            time=str(d.get("time", "")),
            tool_version=str(d.get("tool_version", "")),
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
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise EvidenceError(f"cannot read evidence file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise EvidenceError(f"evidence file {path} is not JSON: {exc}") from None
    return Evidence.from_dict(raw)
