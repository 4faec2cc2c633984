"""The engine behind build_facts: each row of a declared table builds one Facts field.

A field that cannot be built is None, and `missing[field]` says why (the item's error,
the command's own complaint, or that nothing was gathered).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ..evidence import Evidence, Item
from ..facts import Facts
from ..formats import sources
from . import typed

U = TypeVar("U")

# Commands whose non-zero exit with no output means "could not look", not "looked and
# found": systemctl without a bus or as a user, journalctl without journal access.
_QUERY_PREFIXES = (sources.SYSTEMD_PREFIX, sources.JOURNAL_PREFIX)


def query_failed(item: Item) -> bool:
    """A systemctl/journalctl query that exited non-zero and printed nothing."""
    return (item.source.startswith(_QUERY_PREFIXES) and item.rc not in (0, None)
            and not (item.stdout or "").strip())


def _complaint(item: Item) -> str | None:
    """`<command>: <first stderr line>` of a failed query, None if it said nothing."""
    stderr = (item.stderr or "").strip()
    if item.error or not stderr or not query_failed(item):
        return None
    return f"{item.label()}: {stderr.splitlines()[0]}"


def reason(items: Iterable[Item | None], what: str, euid: int | None = None) -> str:
    """Why `what` could not be read, from the items that should have held it."""
    looked = [i for i in items if i is not None]
    reasons = [f"{i.label()}: {i.error}" for i in looked if i.error]
    reasons += [c for c in map(_complaint, looked) if c is not None]
    text = "; ".join(dict.fromkeys(reasons)) or f"{what} was not gathered"
    if euid not in (0, None) and reasons:
        text += " (run as root to see this)"
    return text


def one(make: Callable[[Item], U | None]) -> Callable[[Item], list[U]]:
    """Adapt a one-fact parser to Collect: None becomes no fact."""
    return lambda item: [x for x in (make(item),) if x is not None]


def usable(item: Item) -> bool:
    """The item was gathered, and is not a query that could not look."""
    return item.ok and not query_failed(item)


def gathered(item: Item) -> bool:
    """The item was gathered (the default test of One)."""
    return item.ok


class Build:
    """One build_facts run: the evidence, the fields built so far and why others are missing."""

    def __init__(self, ev: Evidence) -> None:
        self.ev = ev
        self.euid: int | None = ev.options.get("euid")
        self.values: dict[str, Any] = {"host": ev.host, "target_url": ev.target_url,
                                       "taken_at": ev.time}
        self.missing: dict[str, str] = {}
        # systemd units a supervisor program replaced: their import probes are not the app's.
        self.superseded: set[str] = set()


class Row(Protocol):
    """One row of the table: the field it builds and how."""

    @property
    def field(self) -> str:
        """The Facts field this row sets."""

    def build(self, b: Build) -> Any:
        """The field's value (None, with `b.missing[field]` set, when it cannot be built)."""


@dataclass(frozen=True)
class Collect:
    """A tuple field: `parse` applied to every item whose key starts with `prefix`."""

    field: str
    prefix: str
    parse: Callable[[Item], Iterable[Any]]
    keep_failed: bool = False  # parse failed items too (a missing .env is itself a fact)
    absent: str | None = None  # why, when no such item was gathered at all

    def build(self, b: Build) -> tuple[Any, ...] | None:
        """Parse the usable items; None when there are none."""
        items = list(b.ev.prefixed(self.prefix))
        good = items if self.keep_failed else [i for i in items if usable(i)]
        if not good:
            b.missing[self.field] = (reason(items, self.field, b.euid) if items
                                     else self.absent or f"no {self.prefix}* evidence")
            return None
        return tuple(x for i in good for x in self.parse(i))


@dataclass(frozen=True)
class One:
    """A field read from the one item under `source`; `what` names it in the reason."""

    field: str
    source: str
    parse: Callable[[Item], Any]
    what: str
    usable: Callable[[Item], bool] = gathered
    absent: str | None = None  # why, when the item was not gathered at all
    quiet: bool = False  # its absence needs no explaining

    def build(self, b: Build) -> Any:
        """Parse the item if it is usable; None otherwise."""
        item = b.ev.get(self.source)
        value = self.parse(item) if item is not None and self.usable(item) else None
        if value is None and not self.quiet:
            b.missing[self.field] = (self.absent if item is None and self.absent
                                     else reason([item], self.what))
        return value


@dataclass(frozen=True)
class Whole:
    """A field `read` from the evidence as a whole; `prefix` names the items it reads."""

    field: str
    prefix: str
    read: Callable[[Evidence], Any]

    def build(self, b: Build) -> Any:
        """Read the field; when it is None, say why."""
        value = self.read(b.ev)
        if value is None:
            items = list(b.ev.prefixed(self.prefix))
            b.missing[self.field] = (reason(items, self.field) if items
                                     else f"no {self.prefix}* evidence")
        return value


@dataclass(frozen=True)
class Step:
    """A field built by a function of its own from the fields before it; `also` names the
    other fields it changes."""

    field: str
    run: Callable[[Build], Any]
    also: tuple[str, ...] = ()

    def build(self, b: Build) -> Any:
        """Run the step."""
        return self.run(b)


# Replayed evidence can hold anything inside an item's data or output (evidence.check looks
# at the fields of the envelope and items, not inside each source's format): a parser that
# trips over a value of the wrong shape, or builds a fact of the wrong types from it, loses
# that one fact, with the reason, not the run (and no rule or report trips over it later).
MALFORMED = (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError,
             RecursionError)  # (crossplane recurses into nested nginx blocks)


def _unexpected(what: str) -> str:
    return f"the evidence for it has an unexpected shape ({what[:200]})"


def apply(table: Sequence[Row], ev: Evidence) -> Facts:
    """Build the facts row by row, in the table's order."""
    b = Build(ev)
    types = typed.fact_types()
    for row in table:
        try:
            b.values[row.field] = row.build(b)
        except MALFORMED as exc:
            b.values[row.field] = None
            b.missing[row.field] = _unexpected(f"{type(exc).__name__}: {exc}")
        for name in (row.field, *getattr(row, "also", ())):
            wrong = typed.mismatch(b.values[name], types[name], name)
            if wrong:
                b.values[name] = None
                b.missing[name] = _unexpected(wrong)
    return Facts(**b.values, missing=b.missing)
