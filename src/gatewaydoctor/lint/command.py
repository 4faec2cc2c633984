"""The CLI's glue for `gatewaydoctor lint`: its options, and the command (run the lint,
print it, exit 0 clean, 1 on errors or warnings; a bad option or unreadable file is the
CLI's one-sentence error, exit 2). Standard library only at import time."""

from __future__ import annotations

import argparse
import sys

from ..i18n import _


def add_options(p: argparse.ArgumentParser) -> None:
    """FILES, --format, --offline, --only, --skip."""
    p.add_argument("files", nargs="*", metavar="FILE",
                   help=_("systemd units and drop-ins, supervisor programs, nginx "
                          "configurations or sites (default: this host's own, found from "
                          "what runs)"))
    p.add_argument("--format", choices=("text", "json", "sarif"), default="text",
                   help=_("output format (default: text)"))
    p.add_argument("--offline", action="store_true",
                   help=_("the files are not for this machine (a repository, pre-commit): do "
                          "not look for the programs, folders and files they name"))
    p.add_argument("--only", nargs="+", default=[], metavar="RULE",
                   help=_("report only these rule IDs or symbols"))
    p.add_argument("--skip", nargs="+", default=[], metavar="RULE",
                   help=_("rule IDs or symbols not to report"))


def run(args: argparse.Namespace) -> int:
    """Lint, print in the format asked, and return the exit status."""
    from . import output
    from .registry import all_checks
    from .run import LintOptions
    from .run import lint as run_lint

    result = run_lint(LintOptions(tuple(args.files), args.offline, tuple(args.only),
                                  tuple(args.skip)))
    if args.format == "json":
        sys.stdout.write(output.to_json(result))
    elif args.format == "sarif":
        sys.stdout.write(output.sarif(result, all_checks()))
    else:
        sys.stdout.write(output.text(result))
        for symbol, why in result.not_evaluated:
            print(_("gatewaydoctor: {check} not evaluated: {why}").format(check=symbol, why=why),
                  file=sys.stderr)
    return 1 if result.failed else 0
