"""The `fix` command's command line: the dry run, --apply (after a confirmation), --rollback,
--list and --script, over the application's fix functions (app.py)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from . import app, options
from .console import progress, say
from .fix import render
from .i18n import _

EXIT_HEALTHY, EXIT_PROBLEMS = 0, 1


def run(args: argparse.Namespace) -> int:
    """`gatewaydoctor fix`: plan the fix (a dry run), carry it out (--apply), or list or
    roll back runs; the exit status."""
    if args.list:
        runs = app.fix_runs()
        sys.stdout.write(render.dumps([render.run_dict(r) for r in runs]) if args.json
                         else render.runs_text(runs))
        return EXIT_HEALTHY
    if args.rollback:
        done = app.rollback_fix(args.rollback, say, force=args.force)
        say(_("fix {id} rolled back: its files, modes, owners and unit enablement are as "
              "they were").format(id=done.id))
        return EXIT_HEALTHY
    with progress(args) as shown:
        planned = app.fix_plan(options.app_options(args), progress=shown)
    if args.script:
        from .fix.script import script

        sys.stdout.write(script(planned.plan, planned.before))
        return EXIT_HEALTHY
    return _plan_or_apply(args, planned)


def _plan_or_apply(args: argparse.Namespace, planned: app.FixResult) -> int:
    """The dry run, or --apply: the plan, the confirmation, the run and how it ended."""
    manual_only = args.apply and not planned.plan.actions and not planned.before.offline
    if not args.apply or manual_only:
        sys.stdout.write(render.dumps(render.plan_dict(planned.plan)) if args.json else
                         render.plan_text(planned.plan, _apply_command(args)))
        if manual_only and planned.plan.remedies:
            say(_("nothing in this plan can be carried out automatically; its manual steps "
                  "are above"))
        return EXIT_HEALTHY if planned.plan.verdict == "healthy" else EXIT_PROBLEMS
    if not args.json:
        sys.stdout.write(render.plan_text(planned.plan, None))
    if planned.plan.actions and not args.yes and not _confirmed(len(planned.plan.actions), say):
        say(_("nothing was changed"))
        return EXIT_PROBLEMS
    done = app.apply_fix(options.app_options(args), planned, say, wait=args.wait)
    assert done.run is not None
    sys.stdout.write(render.dumps(render.run_dict(done.run)) if args.json else
                     render.run_text(done.run, done.after.verdict if done.after else None))
    return EXIT_HEALTHY if done.run.status == "applied" else EXIT_PROBLEMS


def _apply_command(args: argparse.Namespace) -> str:
    """How to carry the plan out: --apply here; from a bundle, the script for its host."""
    if args.from_file:
        return f"gatewaydoctor fix --from {args.from_file} --script > fix.sh"
    return " ".join(["gatewaydoctor", "fix", *([args.url] if args.url else []), "--apply"])


def _confirmed(steps: int, say: Callable[[str], None]) -> bool:
    """Ask on the terminal; no terminal means no (scripts give --yes)."""
    if not sys.stdin.isatty():
        say(_("--apply asks before it changes anything; without a terminal give --yes"))
        return False
    answer = input(_("Carry out these {n} steps? [y/N] ").format(n=steps))
    return answer.strip().lower() in ("y", "yes", "是", "是的")
