"""Turn a detector's record into a finding's prose, in the reader's language."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping

from ..findings import Fix
from ..i18n import _, sentences
from .spec import Cmd, Msg, Template, Text

_FIELDS = string.Formatter()


def _names(template: str) -> list[str]:
    """The value names a template refers to (`{unit.name}` → `unit`)."""
    return [re.split(r"[.\[]", f)[0] for _lit, f, _spec, _conv in _FIELDS.parse(template) if f]


def _empty(value: object) -> bool:
    return value is None or value == "" or value == ()


def _missing(template: str, values: Mapping[str, object]) -> bool:
    return any(_empty(values.get(n)) for n in _names(template))


def _value(value: object) -> object:
    if isinstance(value, Msg):
        return fill(value.text, value.values)
    if isinstance(value, tuple) and value and all(isinstance(v, Msg) for v in value):
        return sentences(*(str(_value(v)) for v in value))
    return value


def fill(template: Template, values: Mapping[str, object]) -> str:
    """Translate a template and fill in its values (Msg values are rendered first)."""
    if isinstance(template, tuple):
        return sentences(*(fill(t, values) for t in template if not _missing(t, values)))
    if not template:
        return ""
    names = set(_names(template))
    return _(template).format(**{k: _value(v) for k, v in values.items() if k in names})


def commands(text: Text, values: Mapping[str, object]) -> Iterator[str]:
    """The fix commands, left out where a value they name is missing."""
    for entry in text.commands:
        line = entry.line if isinstance(entry, Cmd) else entry
        names = _names(line)
        whole = values.get(names[0]) if len(names) == 1 else None
        if isinstance(whole, tuple) and line == "{" + names[0] + "}":
            note = f"   # {_(entry.note)}" if isinstance(entry, Cmd) else ""
            yield from (f"{c}{note}" for c in whole)
            continue
        if _missing(line, values):
            continue
        filled = line.format(**{k: _value(v) for k, v in values.items() if k in names})
        yield f"{filled}   # {_(entry.note)}" if isinstance(entry, Cmd) else filled


def fix(text: Text, values: Mapping[str, object]) -> Fix:
    """The fix: its summary and commands."""
    return Fix(fill(text.fix, values), tuple(commands(text, values)))
