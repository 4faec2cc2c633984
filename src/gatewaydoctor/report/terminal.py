"""The terminal report, with rich: verdict, ranked causes with evidence and fix, the chain."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text
from rich.tree import Tree

from ..diagnose import Diagnosis, layer_name
from ..i18n import _
from ..redact import redact
from .path import PathHop, paths
from .visible import visible

VERDICT_STYLE = {"healthy": "bold green", "degraded": "bold yellow", "broken": "bold red"}
# A hop's state (report/path.py) as a symbol that reads without colour too (NO_COLOR).
STATE_MARK = {"ok": "[green]✓[/]", "broken": "[bold red]✗[/]", "unknown": "[dim]○[/]"}
STATE_STYLE = {"ok": "green", "broken": "bold red", "unknown": "dim"}


def _e(text: str) -> str:
    """Text from the evidence, redacted, its control characters shown (rich passes ESC and
    bidi overrides through, and silently drops \r), and rich's markup escaped."""
    return escape(visible(redact(text)))


def _hop_label(hop: PathHop) -> str:
    """`✗ listener broken 127.0.0.1:8000 nothing listens here GD-NGX-002`: the symbol and
    the state's word carry the state without colour."""
    style = STATE_STYLE[hop.state]
    label = (f"{STATE_MARK[hop.state]} [bold]{escape(layer_name(hop.layer))}[/] "
             f"[{style}]{escape(hop.state_word)}[/]")
    if hop.name:
        label += f" {_e(hop.name)}"
    if hop.detail and hop.detail != hop.state_word:
        label += f" [dim]{_e(hop.detail)}[/]"
    if hop.findings:
        label += f" [magenta]{' '.join(hop.findings)}[/]"
    return label


def _hop(node: Tree, hop: PathHop) -> Tree:
    """A hop's evidence under it, and on the top cause's hop that cause's evidence."""
    shown = hop.cause.evidence if hop.cause is not None else ()
    for e in hop.evidence:
        if e not in shown:
            node.add(f"[dim]{_e(e.source)}: {_e(e.text)}[/]")
    if hop.cause is not None:
        kind = _("root cause") if hop.cause.role == "cause" else _("symptom")
        cause = node.add(f"[bold red]◆ {escape(kind)}: {hop.cause.rule} {hop.cause.symbol}[/]")
        for e in hop.cause.evidence:
            cause.add(f"{_e(e.source)}: [bold]{_e(e.text)}[/]")
    return node


def render(d: Diagnosis, out: TextIO, *, color: bool | None = None) -> None:
    """Write the report for a human."""
    console = Console(file=out, force_terminal=color, no_color=color is False, width=110,
                      highlight=False, soft_wrap=False)
    style = VERDICT_STYLE.get(d.verdict, "bold")
    verdicts = {"healthy": _("HEALTHY"), "degraded": _("DEGRADED"), "broken": _("BROKEN")}
    console.print(Text.assemble(("gatewaydoctor ", "bold"), (f"{visible(redact(d.host))}: ", ""),
                                (verdicts.get(d.verdict, d.verdict.upper()), style)))
    if d.offline:
        console.print("[dim]" + _("Offline diagnosis of {where}, evidence taken {time} on "
                                  "{host}.").format(where=_e(d.offline), time=_e(d.taken_at),
                                                    host=_e(d.host)) + "[/]")
    console.print(_e(d.summary))
    for note in d.notes:
        console.print("[yellow]" + escape(_("Note:")) + "[/] " + _e(note))
    roots = [f for f in d.causes if f.role == "cause"]
    for n, f in enumerate(d.causes, 1):
        kind = _("root cause") if f.role == "cause" else _("symptom")
        body: list[Text | str] = [f"[dim]{f.rule} {f.symbol} · {f.category} · {kind}[/]",
                                  _e(f.explanation), ""]
        for e in f.evidence:
            body.append(f"  [cyan]{_e(e.source)}[/]")
            body.append(f"    {_e(e.text)}")
        body.append("")
        fix_word = _("Fix:")
        body.append(f"[bold]{fix_word}[/] {_e(f.fix.summary)}")
        for cmd in f.fix.commands:
            body.append(f"  [green]{_e(cmd)}[/]")
        border = "red" if f.role == "cause" or not roots else "yellow"
        console.print(Panel(Group(*body), title=f"{n}. {_e(f.title)}", title_align="left",
                            border_style=border))
    for path in paths(d):
        tree = Tree(f"[bold]{_e(path.request)}[/]")
        node = tree
        for hop in path.hops:
            node = _hop(node.add(_hop_label(hop)), hop)
        console.print(tree)
    missing = [c for c in d.coverage if c.status != "ok"]
    if missing:
        console.print("[bold]" + _("Not looked at:") + "[/]")
        for c in missing:
            console.print(f"  {_e(c.area)}: {_e(c.detail)}")
    for s in d.errors:
        console.print(f"[red]{_e(s.reason)}[/]")
