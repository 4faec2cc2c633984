"""What a rule reports: a finding with located evidence, an explanation, a fix and links."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from .i18n import N_, _


class Severity(str, Enum):
    """How bad a finding is."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


# The severity words as a reader of the report sees them (the JSON keeps the values).
SEVERITY_LABELS = {"error": N_("error"), "warning": N_("warning"), "info": N_("info")}


def severity_label(value: str) -> str:
    """A severity value in the report's language."""
    label = SEVERITY_LABELS.get(str(value))
    return _(label) if label else str(value)


# The request path, outside in. A finding deeper in the path explains the ones before it.
LAYERS = ("url", "nginx", "upstream", "listener", "process", "unit", "app", "system")
LINK_KINDS = ("url", "server", "location", "upstream", "listener", "process", "unit", "log")


@dataclass(frozen=True)
class Excerpt:
    """One line of evidence and where it came from (`journalctl -u api.service`, `file:line`)."""

    source: str
    text: str


@dataclass(frozen=True)
class Fix:
    """What to do: one sentence and the commands."""

    summary: str
    commands: tuple[str, ...] = ()


@dataclass(frozen=True)
class Link:
    """What a finding is about, so findings on the same request path can be chained."""

    kind: str
    value: str


@dataclass(frozen=True)
class Finding:
    """A rule's hit, stamped with the rule's id, symbol, category, severity, role and layer."""

    rule: str
    symbol: str
    category: str
    severity: Severity
    role: str
    layer: str
    title: str
    evidence: tuple[Excerpt, ...]
    explanation: str
    fix: Fix
    links: tuple[Link, ...]
    explains: tuple[str, ...] = ()
    # What the detector found, as data (untranslated): what a fix plan reads. Not part of the
    # report: the report says it in prose.
    values: Mapping[str, object] = field(default_factory=dict, compare=False, repr=False)
