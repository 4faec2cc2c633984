"""argparse's help formatter, measuring text as a terminal shows it.

argparse wraps help with textwrap, which counts characters and breaks only at spaces: a
Chinese help text (no spaces, two columns a character) then runs past the terminal's edge, and
the usage lines after the first are indented by the *characters* of "用法：" (3) where the
terminal shows 6 columns. This formatter wraps wide text by columns, breaking between
characters (never before closing punctuation), and lines the usage up under its first line.
Text without wide characters (English) is wrapped by argparse itself, unchanged.
"""

from __future__ import annotations

import argparse
import re
import unicodedata
from collections.abc import Iterable

from .i18n import _

# Punctuation that must not begin a line (it stays with what it closes) or end one.
_CLOSING = set("，。、；：？！）」』】〉》”’")
_OPENING = set("（「『【〈《“‘")


def columns(text: str) -> int:
    """How many terminal columns text takes (East Asian wide and full-width characters: 2)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _units(text: str) -> list[tuple[bool, str]]:
    """(space before, unit): a unit is a word of narrow characters or one wide character,
    with the closing punctuation after it and the opening punctuation before it."""
    units: list[tuple[bool, str]] = []
    space = opening_space = False
    opening = ""
    for token in re.findall(r"\s+|\S", text):
        if token.isspace():
            space = True
            continue
        joins = bool(units) and not space and not opening and (
            token in _CLOSING or columns(token) == 1 == columns(units[-1][1][-1]))
        if joins:
            units[-1] = (units[-1][0], units[-1][1] + token)
        elif token in _OPENING:
            opening_space = opening_space if opening else space
            opening += token
        else:
            units.append((opening_space if opening else space, opening + token))
            opening = ""
        space = False
    if opening:
        units.append((opening_space, opening))
    return units


def wrap(text: str, width: int) -> list[str]:
    """text in lines of at most width columns (a unit wider than that keeps a line of its own)."""
    lines: list[str] = []
    line, used = "", 0
    for space, unit in _units(" ".join(text.split())):
        gap = 1 if space and line else 0
        if line and used + gap + columns(unit) > width:
            lines.append(line)
            line, used, gap = "", 0, 0
        line += " " * gap + unit
        used += gap + columns(unit)
    return [*lines, line] if line else lines


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter with help text and usage measured in terminal columns."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        if columns(text) == len(text):
            return super()._split_lines(text, width)
        return wrap(text, width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if columns(text) == len(text):
            return super()._fill_text(text, width, indent)
        return "\n".join(indent + line for line in wrap(text, width - len(indent)))

    def _format_usage(self, usage: str | None, actions: Iterable[argparse.Action],
                      groups: Iterable[argparse._MutuallyExclusiveGroup],
                      prefix: str | None) -> str:
        # argparse measures the prefix in characters: give it one as wide as it shows (padded),
        # so the lines after the first line up and none runs past the width; then unpad it
        shown = _("usage: ") if prefix is None else prefix
        pad = " " * (columns(shown) - len(shown))
        text = super()._format_usage(usage, actions, groups, shown + pad)
        return text.replace(shown + pad, shown, 1) if pad else text
