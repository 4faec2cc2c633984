"""A plan as the reader sees it (the dry run), as JSON, and a run's outcome; in the reader's
language."""

from __future__ import annotations

import json
import shlex
from typing import Any

from ..i18n import _
from .run import Run
from .steps import Command, Manual, Plan, Remedy, Step


def plan_text(plan: Plan, command: str | None) -> str:
    """The dry run: each cause, the steps that fix it (commands, diffs), how it is checked;
    with `command`, how to carry it out (None: it is being carried out)."""
    where = plan.host + (f" ({plan.url})" if plan.url else "")
    out = [_("Fix plan for {where} (verdict: {verdict})").format(where=where,
                                                                 verdict=plan.verdict), ""]
    if not plan.remedies:
        out.append(_("Nothing to fix: no cause was found.") if plan.verdict == "healthy" else
                   _("No cause was found that a fix could address."))
    for n, r in enumerate(plan.remedies, 1):
        out += _remedy_lines(n, r)
    if plan.actions and command:
        out.append(_("Nothing was changed. To carry out the automatic steps (files are backed "
                     "up first, and the fix is verified and rolled back if it fails): {command}")
                   .format(command=command))
    return "\n".join(out).rstrip() + "\n"


def _remedy_lines(n: int, r: Remedy) -> list[str]:
    how = _("automatic") if r.automatic else _("by hand")
    out = [f"{n}. {r.title}  [{r.symbol}, {how}]"]
    for step in r.steps:
        out += ["   " + line for line in step_lines(step)]
    if r.automatic:
        out.append("   " + _("verified by: {how}").format(how=r.verify))
    return [*out, ""]


def step_lines(step: Step) -> list[str]:
    """One step: `$ command   # why`, a file change and its diff, or what a person does."""
    if isinstance(step, Command):
        return [f"$ {step.line}", f"  # {step.why}"]
    if isinstance(step, Manual):
        return [_("by hand: {text}").format(text=step.text), *(f"  $ {c}" for c in step.commands)]
    out = [_("change {path}: {why}").format(path=step.path, why=step.why)]
    if step.owner is not None:
        out.append("  " + _("owner -> uid {uid}, gid {gid}").format(uid=step.owner[0],
                                                                  gid=step.owner[1]))
    if step.mode is not None:
        out.append("  " + _("mode -> {mode}").format(mode=oct(step.mode)[2:].zfill(4)))
    return out + ["  " + line for line in step.diff().splitlines()]


def plan_dict(plan: Plan) -> dict[str, Any]:
    """The plan as JSON data."""
    return {"schema": "gatewaydoctor.fix/1", "host": plan.host, "url": plan.url,
            "verdict": plan.verdict,
            "remedies": [{"rule": r.rule, "symbol": r.symbol, "category": r.category,
                          "title": r.title, "automatic": r.automatic, "verify": r.verify,
                          "steps": [_step_dict(s) for s in r.steps]} for r in plan.remedies],
            "unfixed": list(plan.unfixed)}


def _step_dict(step: Step) -> dict[str, Any]:
    if isinstance(step, Command):
        return {"kind": "command", "line": step.line, "why": step.why, "undo": step.undo}
    if isinstance(step, Manual):
        return {"kind": "manual", "text": step.text, "commands": list(step.commands)}
    return {"kind": "file", "path": step.path, "why": step.why, "diff": step.diff(),
            "mode": step.mode, "owner": list(step.owner) if step.owner else None}


def run_dict(run: Run) -> dict[str, Any]:
    """A run as JSON data (run.json's fields)."""
    return dict(run.__dict__)


def run_text(run: Run, verdict_after: str | None) -> str:
    """How an applied fix ended, and how to take it back."""
    if run.status == "applied":
        head = _("Fix {id} applied; the diagnosis now says: {verdict}.").format(
            id=run.id, verdict=verdict_after or "?")
        return head + "\n" + _("To take it back: {command}").format(
            command=f"gatewaydoctor fix --rollback {run.id}") + "\n"
    return _("Fix {id} did not hold ({reason}); everything it changed was rolled back.").format(
        id=run.id, reason=run.reason) + "\n"


def runs_text(runs: list[Run]) -> str:
    """`fix --list`: id, when, status, causes."""
    if not runs:
        return _("No fix has been run on this host.") + "\n"
    return "".join(f"{r.id}  {r.started}  {r.status:<11}  {', '.join(r.causes)}"
                   f"{'  ' + r.url if r.url else ''}\n" for r in runs)


def dumps(data: Any) -> str:
    """JSON as the CLI prints it."""
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def quoted(args: list[str]) -> str:
    """A command line to show."""
    return shlex.join(args)
