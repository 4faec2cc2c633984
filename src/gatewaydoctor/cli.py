"""Command line: `gatewaydoctor diagnose [URL] [--json] [--no-exec] [--skip ...] [--only ...]`.

Exit status: 0 healthy, 1 problems found (broken, degraded, or nothing could be
looked at), 2 usage or internal error. Data goes to stdout, diagnostics to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence

from . import __version__, examples
from .agent import gather
from .diagnose import Diagnosis, diagnose
from .evidence import Evidence, EvidenceError, load
from .parse import build_facts
from .redact import redact, redact_obj
from .report import json as json_report
from .report import terminal
from .rules import RegistryError, all_rules, run_rules, select

EXIT_HEALTHY, EXIT_PROBLEMS, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    """Bad input: reported as one sentence, exit 2."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gatewaydoctor", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"gatewaydoctor {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("diagnose", help="find why nginx answers 502/503/504 on this host")
    d.add_argument("url", nargs="?", help="the URL that fails, e.g. http://example.com/api/health")
    d.add_argument("--json", action="store_true", help="print the JSON report")
    d.add_argument("--no-exec", action="store_true",
                   help="do not run the service's Python (no import probe)")
    d.add_argument("--skip", nargs="+", default=[], metavar="RULE",
                   help="rule IDs or symbols not to run")
    d.add_argument("--only", nargs="+", default=[], metavar="RULE",
                   help="run only these rule IDs or symbols")
    d.add_argument("--evidence", metavar="FILE",
                   help="diagnose a saved evidence JSON file instead of this host")
    d.add_argument("--example", metavar="NAME",
                   help="diagnose an example recorded in the lab (`--example list` names them)")
    g = sub.add_parser("gather", help="print this host's raw evidence as JSON (redacted)")
    g.add_argument("url", nargs="?")
    g.add_argument("--no-exec", action="store_true")
    sub.add_parser("rules", help="list the rules")
    return p


def _check_url(url: str | None) -> None:
    if url is None:
        return
    from .agent.probes import url_endpoint

    try:
        url_endpoint(url)
    except ValueError as exc:
        raise UsageError(f"{exc} (give a URL like http://example.com/api/health)") from None


def run_diagnosis(args: argparse.Namespace) -> Diagnosis:
    """Gather (or load) evidence, parse, run the selected rules, diagnose."""
    try:
        rules = select(all_rules(), only=args.only, skip=args.skip)
    except RegistryError as exc:
        raise UsageError(str(exc)) from None
    offline = None
    if args.example:
        path = examples.path_of(args.example)
        ev, offline = load(str(path)), f"the example {args.example!r} (recorded in the lab)"
    elif args.evidence:
        ev, offline = load(args.evidence), args.evidence
    else:
        _check_url(args.url)
        ev = Evidence.from_dict(gather(args.url, no_exec=args.no_exec))
    facts = build_facts(ev)
    return dataclasses.replace(diagnose(ev, facts, run_rules(facts, rules)), offline=offline)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `gatewaydoctor` console script."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    try:
        if args.command == "rules":
            for r in all_rules():
                print(f"{r.id}  {r.symbol:<24} {r.category:<26} {r.title}")
            return EXIT_HEALTHY
        if args.command == "gather":
            _check_url(args.url)
            print(json.dumps(redact_obj(gather(args.url, no_exec=args.no_exec)), indent=1))
            return EXIT_HEALTHY
        if getattr(args, "example", None) == "list":
            for name, description in examples.available().items():
                print(f"{name:<24} {description}")
            return EXIT_HEALTHY
        diagnosis = run_diagnosis(args)
    except (UsageError, EvidenceError, examples.UnknownExample) as exc:
        print(f"gatewaydoctor: {redact(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - one sentence, never a traceback
        print(f"gatewaydoctor: internal error: {type(exc).__name__}: {redact(str(exc))}",
              file=sys.stderr)
        return EXIT_ERROR
    try:
        if args.json:
            print(json_report.render(diagnosis))
        else:
            terminal.render(diagnosis, sys.stdout, color=None if sys.stdout.isatty() else False)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_HEALTHY if diagnosis.verdict == "healthy" else EXIT_PROBLEMS
