"""The Markdown report: pastes cleanly into a GitHub/GitLab issue or a chat.

Verdict and summary first, then each ranked cause with its evidence (source, and the
exact line in a code block) and its fix (a ```bash block), the request chain, what could
not be looked at, and the offline note. Everything goes through the redactor; evidence
text is data and is never reflowed or translated.
"""

from __future__ import annotations

import re

from .. import __version__
from ..diagnose import Diagnosis, layer_name
from ..findings import Finding, severity_label
from ..i18n import _
from ..redact import redact
from .path import PathHop, paths
from .visible import visible

# A hop's state (report/path.py): a symbol, and the state's word beside it.
STATE_MARK = {"ok": "✅", "broken": "❌", "unknown": "⚪"}
VERDICT_MARK = {"healthy": "🟢", "degraded": "🟡", "broken": "🔴"}

# What Markdown (CommonMark/GFM) would read as markup in running text. Only what would
# change the rendering is escaped, so the text stays readable where it is not rendered (chat);
# `|` too, which would split a table cell if the text ever lands in one.
_MD_SPECIAL = re.compile(
    r"\\(?=[!-/:-@\[-`{-~])"       # a backslash that would escape the next character
    r"|\*"                         # emphasis
    r"|(?<!\w)_+|_+(?!\w)"          # emphasis (whole runs: `__init__`; intraword ones are not)
    r"|\[(?=[^\]]*\][(\[])"        # a link or reference
    r"|~~|^[#>+-]|^\d+\.(?=\s)"      # strikethrough; a heading, quote or list at the start
    r"|\|"                         # a table cell's end
)
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)


def verdict_label(verdict: str) -> str:
    """The verdict in the reader's language."""
    labels = {"healthy": _("HEALTHY"), "degraded": _("DEGRADED"), "broken": _("BROKEN")}
    return labels.get(verdict, verdict.upper())


def _plain(text: str) -> str:
    text = _MD_SPECIAL.sub(lambda m: "".join("\\" + c for c in m.group(0)),
                           text.replace("\n", " "))
    return text.replace("<", "&lt;")


def prose(text: str) -> str:
    """Running text: redacted; `code spans` kept; markup characters outside them escaped;
    control characters shown as escapes (a \r is a line end to CommonMark)."""
    text = visible(redact(text))
    out, pos = [], 0
    for m in _CODE_SPAN.finditer(text):
        out.append(_plain(text[pos:m.start()]))
        out.append(code(m.group(2)))
        pos = m.end()
    out.append(_plain(text[pos:]))
    return "".join(out)


def code(text: str) -> str:
    """An inline code span holding text exactly (redacted, control characters shown),
    whatever backticks it has."""
    text = visible(redact(text)).replace("\n", " ")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def block(lines: list[str] | tuple[str, ...], lang: str = "text") -> str:
    """A fenced code block holding lines exactly (redacted, control characters shown: a \r
    would end the list item the block sits in); the fence outgrows any inside."""
    body = "\n".join(visible(redact(x)) for x in lines)
    longest = max((len(m) for m in re.findall(r"`{3,}", body)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{body}\n{fence}"


def _doc_link(f: Finding) -> str:
    """`gatewaydoctor explain SYMBOL`, the rule's documentation on any machine."""
    return _("Documentation: {command}").format(command=code(f"gatewaydoctor explain {f.symbol}"))


def _finding(n: int, f: Finding, *, heading: str = "###") -> list[str]:
    kind = _("root cause") if f.role == "cause" else _("symptom")
    out = [f"{heading} {n}. {prose(f.title)}", ""]
    out.append(" · ".join([code(f.rule), code(f.symbol), code(f.category),
                           severity_label(f.severity.value), kind]))
    out.append("")
    if f.explanation:
        out += [prose(f.explanation), ""]
    if f.evidence:
        out += ["**" + _("Evidence") + "**", ""]
        for e in f.evidence:
            out += [f"- {code(e.source)}", ""]
            out += ["  " + line for line in block([e.text]).split("\n")]
            out.append("")
    out += ["**" + _("Fix:") + "** " + prose(f.fix.summary), ""]
    if f.fix.commands:
        out += [block(f.fix.commands, "bash"), ""]
    out += [_doc_link(f), ""]
    return out


def _hop(n: int, hop: PathHop) -> list[str]:
    """`3. ❌ **listener** (broken) `127.0.0.1:8000` — nothing listens here`, its evidence,
    and on the top cause's hop that cause's rule and evidence."""
    line = f"{n}. {STATE_MARK[hop.state]} **{layer_name(hop.layer)}** ({hop.state_word})"
    if hop.name:
        line += f" {code(hop.name)}"
    if hop.detail and hop.detail != hop.state_word:
        line += f" — {prose(hop.detail)}"
    if hop.findings:
        line += " (" + ", ".join(code(r) for r in hop.findings) + ")"
    out = [line]
    shown = hop.cause.evidence if hop.cause is not None else ()
    out += [f"   - {code(e.source)}: {code(e.text)}" for e in hop.evidence if e not in shown]
    if hop.cause is not None:
        kind = _("root cause") if hop.cause.role == "cause" else _("symptom")
        out.append(f"   - **{kind}:** {code(hop.cause.rule)} {code(hop.cause.symbol)}")
        out += [f"     - {code(e.source)}: {code(e.text)}" for e in hop.cause.evidence]
    return out


def render(d: Diagnosis) -> str:
    """The report as Markdown text."""
    out: list[str] = []
    mark = VERDICT_MARK.get(d.verdict, "")
    out.append(f"## {mark} " + _("gatewaydoctor: {verdict} on {host}").format(
        verdict=verdict_label(d.verdict), host=code(d.host)))
    out.append("")
    facts = []
    if d.target_url:
        facts.append("**" + _("URL:") + "** " + code(d.target_url))
    if d.taken_at:
        facts.append("**" + _("Evidence taken:") + "** " + prose(d.taken_at))
    facts.append("**" + _("Tool:") + "** gatewaydoctor " + __version__)
    out += [" · ".join(facts), ""]
    if d.offline:
        out += ["> " + _("Offline diagnosis of {where}, evidence taken {time} on {host}.").format(
            where=prose(d.offline), time=prose(d.taken_at), host=code(d.host)), ""]
    out += ["**" + _("Summary:") + "** " + prose(d.summary), ""]
    for note in d.notes:
        out += ["> **" + _("Note:") + "** " + prose(note), ""]

    if d.causes:
        out += ["### " + _("Causes, most likely first"), ""]
        for n, f in enumerate(d.causes, 1):
            out += _finding(n, f, heading="####")

    if d.chains:
        out += ["### " + _("Request path"), ""]
        for path in paths(d):
            out += [f"**{prose(path.request)}**", ""]
            for i, hop in enumerate(path.hops, 1):
                out += _hop(i, hop)
            out.append("")

    info = [f for f in d.findings if f not in d.causes]
    if info:
        out += ["### " + _("Other findings"), ""]
        for f in info:
            out.append(f"- {code(f.rule)} {prose(f.title)}")
        out.append("")

    missing = [c for c in d.coverage if c.status != "ok"]
    out += ["### " + _("Not looked at"), ""]
    if missing:
        out += [f"- **{prose(c.area)}** ({c.status}): {prose(c.detail)}" for c in missing]
    else:
        out.append(_("Everything that was planned could be looked at."))
    out.append("")
    if d.not_evaluated:
        out.append(_("Rules not evaluated: {rules}.").format(
            rules=", ".join(code(s.symbol) for s in d.not_evaluated)))
        out.append("")
    for s in d.errors:
        out += [f"- ⚠️ {code(s.rule)}: {prose(s.reason)}"]
    if d.errors:
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
