"""Text from a host made visible: control and invisible formatting characters written out.

Evidence is what a host wrote (a log line, a probe's body, a unit name): an ESC there would
drive the reader's terminal (`ESC[2J` clears it), a carriage return overwrite the line, a
bidi override show a command in another order than it runs, a line break in Markdown end
the list item it sits in. Every report shows such a character as its escape (`\\x1b`,
`\\r`, `\\u202e`); newlines and tabs stay.
"""

from __future__ import annotations

import re

# C0 and C1 controls but \t and \n; DEL; the invisible format characters that change
# what is shown (zero-width, bidi embeddings/overrides/isolates, BOM, tags); U+2028/2029.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064"
    "\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]")


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    if code == 0x0D:
        return "\\r"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 \
        else f"\\U{code:08x}"


def visible(text: str) -> str:
    """text with every control or invisible formatting character (but \\n, \\t) escaped."""
    return _INVISIBLE.sub(_escape, text)
