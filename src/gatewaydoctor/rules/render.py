"""Turn a detector's record into a finding's prose, in the reader's language.

A rule's texts are written in English in its module; their translations live on the rule's
page in that language (`docs/rules/zh-CN/<symbol>.md`, section `## 消息`), so a rule is one
module and two pages. Messages a rule shares with the rest of the program (or a rule whose
page does not translate them) fall back to the message catalog (gettext).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from .. import packaged
from ..findings import Fix
from ..i18n import _, sentences
from .spec import Cmd, Msg, Template, Text

_FIELDS = string.Formatter()
DOCS_DIR = Path(__file__).resolve().parents[1] / "docs" / "rules"
# The section of a rule's page that holds its messages, per language.
MESSAGES_HEADING = {"en": "Messages", "zh-CN": "消息"}
NONE: Mapping[str, str] = MappingProxyType({})


@lru_cache(maxsize=None)
def catalog(symbol: str, lang: str) -> Mapping[str, str]:
    """The rule's messages in lang, from its page: English template -> translation."""
    if lang == "en" or lang not in MESSAGES_HEADING:
        return NONE
    try:
        page = packaged.read_bytes(DOCS_DIR / lang / f"{symbol}.md").decode("utf-8")
    except OSError:
        return NONE
    return MappingProxyType(messages(page, MESSAGES_HEADING[lang]))


def messages(page: str, heading: str) -> dict[str, str]:
    """The `en:`/`tr:` line pairs of the page's messages section (in its first code block)."""
    section = page.partition(f"\n## {heading}\n")[2].split("\n## ", 1)[0]
    block = section.partition("```")[2].partition("\n")[2].partition("```")[0]
    out: dict[str, str] = {}
    english = None
    for line in block.splitlines():
        if line.startswith("en: "):
            english = line[4:]
        elif line.startswith("tr: ") and english is not None:
            out[english], english = line[4:], None
    return out


def _tr(template: str, catalog: Mapping[str, str]) -> str:
    return catalog.get(template) or _(template)


def _names(template: str) -> list[str]:
    """The value names a template refers to (`{unit.name}` → `unit`)."""
    return [re.split(r"[.\[]", f)[0] for _lit, f, _spec, _conv in _FIELDS.parse(template) if f]


def _empty(value: object) -> bool:
    return value is None or value == "" or value == ()


def _missing(template: str, values: Mapping[str, object]) -> bool:
    return any(_empty(values.get(n)) for n in _names(template))


def _value(value: object, catalog: Mapping[str, str]) -> object:
    if isinstance(value, Msg):
        return fill(value.text, value.values, catalog)
    if isinstance(value, tuple) and value and all(isinstance(v, Msg) for v in value):
        return sentences(*(str(_value(v, catalog)) for v in value))
    return value


def fill(template: Template, values: Mapping[str, object],
         catalog: Mapping[str, str] = NONE) -> str:
    """Translate a template and fill in its values (Msg values are rendered first)."""
    if isinstance(template, tuple):
        return sentences(*(fill(t, values, catalog) for t in template
                           if not _missing(t, values)))
    if not template:
        return ""
    names = set(_names(template))
    return _tr(template, catalog).format(
        **{k: _value(v, catalog) for k, v in values.items() if k in names})


def commands(text: Text, values: Mapping[str, object],
             catalog: Mapping[str, str] = NONE) -> Iterator[str]:
    """The fix commands, left out where a value they name is missing."""
    for entry in text.commands:
        line = entry.line if isinstance(entry, Cmd) else entry
        names = _names(line)
        whole = values.get(names[0]) if len(names) == 1 else None
        if isinstance(whole, (tuple, Cmd)) and line == "{" + names[0] + "}":
            for each in whole if isinstance(whole, tuple) else (whole,):
                yield _spliced(each, entry, values, catalog)
        elif not _missing(line, values):
            yield _command(entry, values, catalog)


def _spliced(each: object, entry: str | Cmd, values: Mapping[str, object],
             catalog: Mapping[str, str]) -> str:
    """One element of a tuple value given as commands: a Cmd, or a ready command line (not
    formatted again), with the note of the entry that named it."""
    if isinstance(each, Cmd):
        return _command(each, values, catalog)
    note = f"   # {fill(entry.note, values, catalog)}" if isinstance(entry, Cmd) else ""
    return f"{each}{note}"


def _command(entry: object, values: Mapping[str, object], catalog: Mapping[str, str]) -> str:
    """One command (not translated), with its translated note when it has one."""
    if not isinstance(entry, Cmd):
        return _format(str(entry), values, catalog)
    line, note = _format(entry.line, values, catalog), fill(entry.note, values, catalog)
    return f"{line}   # {note}" if line else f"# {note}"


def _format(line: str, values: Mapping[str, object], catalog: Mapping[str, str]) -> str:
    names = set(_names(line))
    return line.format(**{k: _value(v, catalog) for k, v in values.items() if k in names}) \
        if names else line


def fix(text: Text, values: Mapping[str, object],
        catalog: Mapping[str, str] = NONE) -> Fix:
    """The fix: its summary and commands."""
    return Fix(fill(text.fix, values, catalog), tuple(commands(text, values, catalog)))
