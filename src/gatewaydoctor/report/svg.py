"""The request path as a picture: one inline SVG, drawn top to bottom, hop under hop.

Nothing is loaded and nothing runs: shapes, text and links only, laid out here (SVG text
does not wrap, so lines are wrapped to the picture's width by their characters' widths,
a CJK character counting twice). Colours come from the page's CSS classes (`st-ok`,
`st-broken`, `st-unknown`; light and dark schemes, print), and each state has its own
shape and symbol too — a ticked disc, a crossed square, a dashed ring — so a greyscale
print or a colour-blind reader tells them apart; the state is also written in words.
The first broken hop that holds the top cause carries the decisive evidence and a link to
the cause's rule page.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

from ..diagnose import layer_name
from ..i18n import _
from ..redact import redact
from .path import BROKEN, OK, UNKNOWN, Path, PathHop
from .visible import visible

LINE = 17  # px between two lines of text
MONO_W = 7.3  # px per character of 12px monospace (a CJK one counts twice)
SANS_W = 7.0  # px per character of 13px sans-serif, a little generous
BOLD_W = 8.0  # the same, bold
X_TEXT = 44  # where a hop's text starts, right of its node
NODE_X, NODE_R = 20, 11
EXCERPTS = 5  # evidence lines in the decisive box: the decisive one is not always first

# The symbol drawn on each state's node, centred on 0,0.
SYMBOLS = {
    OK: '<circle r="{r}" class="node"/><path d="M-5 0.5 -1.5 4 5 -3.5" class="mark"/>',
    BROKEN: '<rect x="-{r}" y="-{r}" width="{d}" height="{d}" rx="2" class="node"/>'
            '<path d="M-4.5 -4.5 4.5 4.5 M4.5 -4.5 -4.5 4.5" class="mark"/>',
    UNKNOWN: '<circle r="{r}" class="node"/><path d="M-4.5 0 4.5 0" class="mark"/>',
}


def _units(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def wrap(text: str, width: float, char_w: float, lines: int) -> list[str]:
    """text in at most `lines` lines that fit `width` px, broken after a space or a slash
    where one is near the end (else anywhere: a path, CJK), the last cut with an ellipsis."""
    room = max(4, int(width / char_w))
    out: list[str] = []
    rest = text
    while rest:
        take, used = 0, 0
        for ch in rest:
            used += _units(ch)
            if used > room:
                break
            take += 1
        if take == len(rest):
            return out + [rest]
        if len(out) == lines - 1:
            return out + [_cut(rest[:take], room) + "…"]
        cut = next((i for seps in (" ", "/,;=，") for i in range(take, take // 2, -1)
                    if rest[i - 1] in seps or rest[i] == seps[0]), take)
        out.append(rest[:cut].rstrip(" "))
        rest = rest[cut:].lstrip(" ")
    return out


def _cut(line: str, room: int) -> str:
    """line shortened to leave room for an ellipsis."""
    while line and sum(map(_units, line)) > room - 1:
        line = line[:-1]
    return line


def _clean(text: str) -> str:
    """Text from the evidence for one SVG line: redacted (before it is cut, so a secret is
    whole when the redactor sees it), control characters shown, line breaks marked."""
    return visible(redact(text)).replace("\n", " ↵ ").replace("\t", " ")


class Canvas:
    """SVG elements and the height they reach."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.y = 0.0
        self.parts: list[str] = []

    def text(self, x: float, lines: Sequence[str], cls: str) -> None:
        for line in lines:
            self.y += LINE
            self.parts.append(f'<text x="{x}" y="{self.y:.0f}" class="{cls}">{escape(line)}</text>')


def _hop_text(c: Canvas, hop: PathHop) -> None:
    room = c.width - X_TEXT - 8
    c.y += LINE
    c.parts.append(f'<text x="{X_TEXT}" y="{c.y:.0f}"><tspan class="layer">'
                   f'{escape(layer_name(hop.layer))}</tspan><tspan class="word" dx="8">'
                   f'{escape(hop.state_word)}</tspan></text>')
    if hop.name:
        c.text(X_TEXT, wrap(_clean(hop.name), room, MONO_W, 2), "name")
    if hop.detail and hop.detail != hop.state_word:
        c.text(X_TEXT, wrap(_clean(hop.detail), room, SANS_W, 2), "detail")


def _cause_box(c: Canvas, hop: PathHop, link: Callable[[str], str]) -> None:
    """The decisive evidence under the hop it sits on, and the rule it comes from (a broken
    hop no cause sits on shows its own evidence)."""
    cause = hop.cause
    x, room = X_TEXT + 10, c.width - X_TEXT - 26
    top = c.y + 6
    c.y = top + LINE
    start = len(c.parts)
    if cause is not None:
        kind = _("root cause") if cause.role == "cause" else _("symptom")
        rule = f"{cause.rule} {cause.symbol}"
        a = (f'<a href="#{escape(link(cause.symbol))}" class="rule"><tspan>{escape(rule)}'
             f'</tspan></a>')
        # The rule on the line of its own when both do not fit (bold text is wider).
        if sum(map(_units, f"{kind}: {rule}")) * BOLD_W > room:
            c.parts.append(f'<text x="{x}" y="{c.y:.0f}" class="box-head">{escape(kind)}:</text>')
            c.y += LINE
            head = a
        else:
            head = f"{escape(kind)}: {a}"
    else:
        head = escape(_("Evidence"))
    c.parts.append(f'<text x="{x}" y="{c.y:.0f}" class="box-head">{head}</text>')
    source = ""
    for e in (cause.evidence if cause is not None else hop.evidence)[:EXCERPTS]:
        if e.source != source:  # lines from one source under it once
            c.text(x, wrap(_clean(e.source), room, SANS_W * 0.9, 1), "src")
            source = e.source
        c.text(x, wrap(_clean(e.text), room, MONO_W, 3), "ev")
    c.y += 9
    c.parts.insert(start, f'<rect x="{X_TEXT}" y="{top:.0f}" width="{c.width - X_TEXT - 4}" '
                          f'height="{c.y - top:.0f}" rx="6" class="box"/>')


def _node(hop: PathHop, y: float) -> str:
    r = NODE_R - 1 if hop.state == BROKEN else NODE_R
    symbol = SYMBOLS[hop.state].format(r=r, d=2 * r)
    return (f'<g class="sym" transform="translate({NODE_X} {y:.0f})">'
            f'<title>{escape(hop.state_word)}</title>{symbol}</g>')


def render(path: Path, width: int, link: Callable[[str], str], css_class: str) -> Markup:
    """One path as an <svg> `width` user units wide; link(symbol) is a rule page's anchor."""
    c = Canvas(width)
    rows: list[tuple[PathHop, float]] = []  # each hop and its node's centre
    groups: list[str] = []
    decisive = path.decisive
    for hop in path.hops:
        start = len(c.parts)
        top = c.y
        _hop_text(c, hop)
        if hop is decisive and (hop.cause is not None or hop.evidence):
            _cause_box(c, hop, link)
        node_y = top + LINE - 4
        c.y += 14
        body = "".join(c.parts[start:])
        del c.parts[start:]
        groups.append(f'<g class="hop st-{hop.state}" data-layer="{hop.layer}" '
                      f'data-state="{hop.state}">{_node(hop, node_y)}{body}</g>')
        rows.append((hop, node_y))
    lines = []
    for n in range(1, len(rows)):
        (a, ya), (b, yb) = rows[n - 1], rows[n]
        # Into or out of a layer nobody looked at, the line is dashed: no request went there.
        dashed = " dashed" if UNKNOWN in (a.state, b.state) else ""
        lines.append(f'<line x1="{NODE_X}" y1="{ya:.0f}" x2="{NODE_X}" y2="{yb:.0f}" '
                     f'class="link{dashed}"/>')
    height = int(c.y) + 2
    title = _("Request path: {request}").format(request=_clean(path.request))
    return Markup(
        f'<svg class="gd-path {css_class}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        + "".join(lines) + "".join(groups) + "</svg>")


def legend() -> Markup:
    """What the three symbols mean, each drawn as in the picture."""
    items = []
    for state, word in ((OK, _("fine")), (BROKEN, _("broken")),
                        (UNKNOWN, _("not looked at or not reached"))):
        r = NODE_R - 1 if state == BROKEN else NODE_R
        items.append(f'<span class="st-{state}"><svg class="sym" viewBox="-12 -12 24 24" '
                     f'width="16" height="16" aria-hidden="true">'
                     f'{SYMBOLS[state].format(r=r, d=2 * r)}</svg> {escape(word)}</span>')
    return Markup('<p class="legend">' + "".join(items) + "</p>")
