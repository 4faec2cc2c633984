"""Command line: parse argv (options.py), run the command (app.py returns data), print it.

Every error becomes one sentence on stderr. Exit status: 0 healthy, 1 problems found
(broken, degraded, or nothing could be looked at), 2 usage or internal error.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from . import app, options
from .console import progress as _progress
from .console import say as _say
from .errors import GatewayDoctorError
from .i18n import _, set_language
from .report import output as report_output

EXIT_HEALTHY, EXIT_PROBLEMS, EXIT_ERROR = 0, 1, 2


def diagnose(args: argparse.Namespace, _parser: argparse.ArgumentParser) -> int:
    """Diagnose this host (or a bundle, evidence file or example) and write the report."""
    if args.example == "list":
        for name, description in app.examples().items():
            print(f"{name:<24} {description}")
        return EXIT_HEALTHY
    fmt = report_output.resolve_format(args)  # contradicting options fail before any work
    with _progress(args) as progress:
        diagnosis = app.run_diagnosis(options.app_options(args), progress=progress,
                                      report_format=fmt)
    try:
        report_output.write(diagnosis, args)
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_HEALTHY if diagnosis.verdict == "healthy" else EXIT_PROBLEMS


def bundle(args: argparse.Namespace, _parser: argparse.ArgumentParser) -> int:
    """Write the bundle; its path goes to stdout, a summary to stderr."""
    with _progress(args) as progress:
        written = app.write_bundle(options.app_options(args), args.output, progress=progress)
    masked = ", ".join(f"{k} {v}" for k, v in written.redactions.items()) or _("nothing")
    print(written.path)
    _say(_("wrote {path} ({size} KiB): {gathered} sources gathered, {failed} failed; redacted: "
           "{masked}. Diagnose it anywhere with {command}.").format(
        path=written.path, size=f"{written.size / 1024:.0f}", gathered=written.gathered,
        failed=written.failed, masked=masked,
        command=f"`gatewaydoctor diagnose --from {Path(written.path).name}`"))
    return EXIT_HEALTHY


def gather(args: argparse.Namespace, _parser: argparse.ArgumentParser) -> int:
    """Print this host's evidence, redacted, as JSON."""
    with _progress(args) as progress:
        evidence = app.gather(options.app_options(args), progress=progress)
    print(json.dumps(evidence, indent=1))
    return EXIT_HEALTHY


def rules(args: argparse.Namespace, _parser: argparse.ArgumentParser) -> int:
    """List the rules."""
    from . import ruledocs

    print(ruledocs.rules_listing(as_json=args.json))
    return EXIT_HEALTHY


def explain(args: argparse.Namespace, _parser: argparse.ArgumentParser) -> int:
    """Print a rule's page (ruledocs says itself, on stderr, when there is none: exit 2)."""
    from . import ruledocs

    return ruledocs.explain(args.rule, sys.stdout)


def schema(_args: argparse.Namespace, _parser: argparse.ArgumentParser) -> int:
    """Print the JSON Schema of the report."""
    from .report import schema as report_schema

    sys.stdout.write(report_schema.text())
    return EXIT_HEALTHY


def completion(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Print a completion script for the whole parser."""
    from .completion import script

    sys.stdout.write(script(args.shell, parser))
    return EXIT_HEALTHY


def _in_module(name: str) -> Callable[[argparse.Namespace, argparse.ArgumentParser], int]:
    """A command whose command line is a module of its own (`run(args)` -> exit status),
    imported when it runs."""
    def handler(args: argparse.Namespace, _parser: argparse.ArgumentParser) -> int:
        return int(importlib.import_module(f"{__package__}.{name}").run(args))

    return handler


COMMANDS: dict[str, Callable[[argparse.Namespace, argparse.ArgumentParser], int]] = {
    "diagnose": diagnose, "fix": _in_module("fix_command"), "bundle": bundle,
    "gather": gather, "rules": rules, "explain": explain, "schema": schema,
    "completion": completion, "lint": _in_module("lint.command"),
    "generate": _in_module("generate")}


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI: parse argv, run the command, return the exit code (console() exits)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    set_language(options.lang_in(argv))  # --lang, else the locale variables
    command = options.command_in(argv)
    # completion writes a script for every subcommand's options
    parser = options.parser(only=None if command == "completion" else command)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    try:
        return COMMANDS[args.command](args, parser)
    except GatewayDoctorError as exc:
        _say(_redact(str(exc)))
    except Exception as exc:  # noqa: BLE001 - one sentence, never a traceback
        _say(_("internal error: {error}").format(
            error=f"{type(exc).__name__}: {_redact(str(exc))}"))
    return EXIT_ERROR


def console() -> NoReturn:
    """The `gatewaydoctor` console script: main(), then exit with its code."""
    code = main()
    # shutdown's last collections would walk all the evidence held (~8 ms of a 0.2 s bundle)
    gc.freeze()
    sys.exit(code)



def _redact(text: str) -> str:
    from .redact import redact

    return redact(text)
