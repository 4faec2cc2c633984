"""Command line: `gatewaydoctor diagnose [URL] [--json] [--no-exec] [--skip ...] [--only ...]`.

`gatewaydoctor bundle [URL] [-o FILE]` writes the same evidence, redacted, as a .tar.gz
that `gatewaydoctor diagnose --from FILE` diagnoses anywhere, offline.

Exit status: 0 healthy, 1 problems found (broken, degraded, or nothing could be
looked at), 2 usage or internal error. Data goes to stdout, diagnostics to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any, NoReturn

from . import __version__
from .i18n import LANGUAGES, _, set_language
from .report import output as report_output

if TYPE_CHECKING:
    from .diagnose import Diagnosis
    from .redact import Redactor

# Everything else (the agent, the redactor, the bundle writer, diagnose, parse, rules, the
# reports) is imported where it is used: `gatewaydoctor bundle` starts gathering after the
# parser and the agent are loaded, and loads the bundle writer while the probes run.

EXIT_HEALTHY, EXIT_PROBLEMS, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    """Bad input: reported as one sentence, exit 2."""


def _lang_option(p: argparse.ArgumentParser) -> None:
    # On the program and on every subcommand, so it goes before or after the subcommand.
    p.add_argument("--lang", choices=LANGUAGES, default=argparse.SUPPRESS,
                   help=_("the report's language (default: from LANGUAGE, LC_ALL, LC_MESSAGES, "
                          "LANG)"))


def _lang_in(argv: Sequence[str]) -> str | None:
    """The --lang value in argv, read before the parser is built (its help is translated)."""
    lang = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(argv):
            lang = argv[i + 1]
        elif arg.startswith("--lang="):
            lang = arg.split("=", 1)[1]
    return lang if lang in LANGUAGES else None


def _diagnose_options(d: argparse.ArgumentParser) -> None:
    d.add_argument("url", nargs="?",
                   help=_("the URL that fails, e.g. {url}").format(
                       url="http://example.com/api/health"))
    report_output.add_options(d)  # --format, --json, -o FILE, -q
    d.add_argument("--no-exec", action="store_true",
                   help=_("do not run the service's Python (no import probe)"))
    d.add_argument("--skip", nargs="+", default=[], metavar="RULE",
                   help=_("rule IDs or symbols not to run"))
    d.add_argument("--only", nargs="+", default=[], metavar="RULE",
                   help=_("run only these rule IDs or symbols"))
    d.add_argument("--from", dest="from_file", metavar="FILE",
                   help=_("diagnose a bundle (.tar.gz from `gatewaydoctor bundle`) or evidence "
                          "JSON instead of this host"))
    d.add_argument("--evidence", metavar="FILE", help=argparse.SUPPRESS)
    d.add_argument("--example", metavar="NAME",
                   help=_("diagnose an example recorded in the lab (`--example list` names "
                          "them)"))
    _mask_options(d)
    _window_options(d)


def _bundle_options(b: argparse.ArgumentParser) -> None:
    b.add_argument("url", nargs="?",
                   help=_("the URL that fails, e.g. {url}").format(
                       url="http://example.com/api/health"))
    b.add_argument("-o", "--output", metavar="FILE",
                   help=_("where to write (default: {name} here)").format(
                       name="gatewaydoctor-<host>-<UTC time>.tar.gz"))
    b.add_argument("--no-exec", action="store_true",
                   help=_("do not run the service's Python (no import probe)"))
    _mask_options(b)
    _window_options(b)


def _gather_options(g: argparse.ArgumentParser) -> None:
    g.add_argument("url", nargs="?")
    g.add_argument("--no-exec", action="store_true")
    _mask_options(g)
    _window_options(g)


def _rules_options(r: argparse.ArgumentParser) -> None:
    r.add_argument("--json", action="store_true", help=_("print the list as JSON"))


def _explain_options(e: argparse.ArgumentParser) -> None:
    e.add_argument("rule", metavar="ID|SYMBOL",
                   help=_("e.g. {examples}").format(examples="GD-APP-001, relative-import"))


def _completion_options(c: argparse.ArgumentParser) -> None:
    c.add_argument("shell", choices=("bash", "zsh", "fish"))


def _no_options(_p: argparse.ArgumentParser) -> None:
    pass


# name, what `gatewaydoctor -h` says of it (a function: translated when the parser is
# built), and what adds its options
COMMANDS: tuple[tuple[str, Callable[[], str], Callable[[argparse.ArgumentParser], None]],
                ...] = (
    ("diagnose", lambda: _("find why nginx answers 502/503/504 on this host"),
     _diagnose_options),
    ("bundle", lambda: _("write this host's evidence, redacted, as a .tar.gz anyone can "
                         "diagnose offline"), _bundle_options),
    ("gather", lambda: _("print this host's raw evidence as JSON (redacted)"), _gather_options),
    ("rules", lambda: _("list the rules (ID, symbol, category, severity, title)"),
     _rules_options),
    ("explain", lambda: _("print a rule's documentation: what it detects, why, the evidence "
                          "it uses, how to fix and verify"), _explain_options),
    ("schema", lambda: _("print the JSON Schema of the --json report"), _no_options),
    ("completion", lambda: _("print a shell completion script"), _completion_options),
)


def _command_in(argv: Sequence[str]) -> str | None:
    """The subcommand argv names, when nothing else comes before it but --lang."""
    names = {name for name, _help, _add in COMMANDS}
    after_lang = False
    for arg in argv:
        if after_lang:
            after_lang = False
        elif arg == "--lang":
            after_lang = True
        elif not arg.startswith("--lang="):
            return arg if arg in names else None
    return None


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; with `only`, the other subcommands get no options (building them
    all is a few ms on the way to the first probe, and they cannot be used at once)."""
    p = argparse.ArgumentParser(prog="gatewaydoctor", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"gatewaydoctor {__version__}")
    _lang_option(p)
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_text, add_options in COMMANDS:
        each = sub.add_parser(name, help=help_text())
        if only is None or only == name:
            add_options(each)
            _lang_option(each)
    return p


def _mask_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mask-ips", action="store_true",
                   help=_("also replace IP addresses by stable placeholders (loopback kept)"))
    p.add_argument("--mask-hosts", action="store_true",
                   help=_("also replace host names by stable placeholders (localhost kept)"))


def _window_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-log-lines", type=int, metavar="N",
                   help=_("lines kept from each journal and nginx log "
                          "(default: journal 400, error.log 2000, access.log 500)"))
    p.add_argument("--window", metavar="SPAN",
                   help=_("how far back the journal is read, e.g. 2h, 3d, 30m (default 24h)"))


def _since(window: str | None) -> str | None:
    if window is None:
        return None
    import re

    m = re.fullmatch(r"-?\s*(\d+)\s*(s|sec|m|min|h|d|w)", window.strip())
    if not m:
        raise UsageError(_("--window {value} is not a time span (give e.g. 30m, 2h or 3d)")
                         .format(value=repr(window)))
    return f"-{m.group(1)}{m.group(2)}"


def _redactor(args: argparse.Namespace) -> Redactor:
    from .redact import Redactor

    return Redactor(mask_ips=bool(getattr(args, "mask_ips", False)),
                    mask_hosts=bool(getattr(args, "mask_hosts", False)))


def _gather(args: argparse.Namespace,
            on_item: Callable[[dict[str, Any]], None] | None = None,
            busy_after: threading.Event | None = None) -> dict[str, Any]:
    _check_url(args.url)
    if args.max_log_lines is not None and args.max_log_lines < 1:
        raise UsageError(_("--max-log-lines must be at least 1"))
    from .agent import gather

    progress = report_output.progress_for(args)
    try:
        return gather(args.url, no_exec=args.no_exec, max_log_lines=args.max_log_lines,
                      since=_since(args.window), progress=progress, on_item=on_item,
                      busy_after=busy_after)
    finally:
        if progress is not None:
            progress.close()


def _check_url(url: str | None) -> None:
    if url is None:
        return
    from .agent.probes import url_endpoint

    try:
        url_endpoint(url)
    except ValueError as exc:
        raise UsageError(_("{error} (give a URL like {url})").format(
            error=exc, url="http://example.com/api/health")) from None


def _load_diagnosis(fmt: str) -> None:
    """Import the rules (the registry loads and checks them), the parsers, the diagnosis
    and the report's renderer: ~0.1-0.2 s, done in a thread while the host is looked at."""
    from . import diagnose, parse  # noqa: F401
    from .rules import all_rules

    all_rules()
    if fmt in report_output.FORMATS:  # each format's renderer is the module of its name
        __import__(f"gatewaydoctor.report.{fmt}")


def run_diagnosis(args: argparse.Namespace) -> Diagnosis:
    """Gather (or load) evidence, parse, run the selected rules, diagnose."""
    replayed = args.example or args.from_file or args.evidence
    if replayed and (args.url or args.no_exec or args.max_log_lines or args.window):
        raise UsageError(_("a URL, --no-exec, --max-log-lines and --window apply to a live "
                           "diagnosis, not to --from/--example (the evidence is already "
                           "taken)"))
    raw = rules = None
    if not replayed:
        loading = threading.Thread(target=_quietly, daemon=True, args=(
            _load_diagnosis, report_output.resolve_format(args)))
        loading.start()
        if args.only or args.skip:
            loading.join()
            rules = _selected_rules(args)  # a wrong rule name fails before any work
        raw = _gather(args)
        loading.join()
    import dataclasses

    from .diagnose import diagnose
    from .evidence import Evidence
    from .parse import build_facts
    from .rules import run_rules

    if rules is None:
        rules = _selected_rules(args)
    offline = None
    if raw is not None:
        red = _redactor(args)
        if red.mask_ips or red.mask_hosts:
            raw = red.evidence(raw)
        ev = Evidence.from_dict(raw)
    else:
        ev, offline = _replayed_evidence(args)
        if args.mask_ips or args.mask_hosts:
            ev = Evidence.from_dict(_redactor(args).evidence(ev.to_dict()))
    facts = build_facts(ev)
    return dataclasses.replace(diagnose(facts, run_rules(facts, rules)), offline=offline)


def _selected_rules(args: argparse.Namespace) -> list[Any]:
    from .rules import RegistryError, all_rules, select

    try:
        return list(select(all_rules(), only=args.only, skip=args.skip))
    except RegistryError as exc:
        raise UsageError(str(exc)) from None


def _replayed_evidence(args: argparse.Namespace) -> tuple[Any, str]:
    """The evidence of --example, --from or --evidence, and how to name where it came from."""
    from . import bundle as bundles
    from . import examples
    from .evidence import load

    if args.example:
        return bundles.read(examples.path_of(args.example)).evidence, _(
            "the example {name} (recorded in the lab)").format(name=repr(args.example))
    if args.from_file:
        return bundles.load_any(args.from_file)
    return load(args.evidence), args.evidence


def write_bundle(args: argparse.Namespace) -> int:
    """Gather, redact and write the bundle; its path goes to stdout, a summary to stderr."""
    if args.output and Path(args.output).is_dir():
        raise UsageError(_("-o {path} is a directory; give a file name ending in .tar.gz")
                         .format(path=args.output))
    # While the gathering waits on its slowest probes (the app's own interpreter), one
    # thread loads the bundle writer (~40 ms of imports and regex compiling) and redacts
    # and lays out each item as it comes in. It starts once those probes are started:
    # sooner, it would slow the way to them. Masking IPs/host names needs every item
    # first (placeholders are shared), so then it all happens after.
    items: SimpleQueue[dict[str, Any] | None] = SimpleQueue()
    early: list[Any] = []
    masks = bool(args.mask_ips or args.mask_hosts)
    go = threading.Event()
    writer = threading.Thread(target=_prepare_bundle, args=(items, early, masks, go),
                              daemon=True)
    writer.start()
    try:
        raw = _gather(args, on_item=None if masks else items.put, busy_after=go)
    finally:
        go.set()  # also when the gathering never began (a bad option)
        items.put(None)
        writer.join()
    from . import bundle as bundles

    red = _redactor(args)  # (its import is the writer thread's, off the way to the probes)

    path = args.output
    if not path:
        host = red.evidence({"host": raw.get("host", "")})["host"] if red.mask_hosts else \
            str(raw.get("host", ""))
        path = bundles.default_name(host)
    try:
        manifest = bundles.write(raw, path, red, early=early[0] if early else None)
    except OSError as exc:
        raise UsageError(_("cannot write {path}: {error}").format(
            path=path, error=exc.strerror or exc)) from None
    size = Path(path).stat().st_size
    gathered = sum(1 for s in manifest["sources"] if s["status"] == "gathered")
    failed = len(manifest["failed"])
    masked = ", ".join(f"{k} {v}" for k, v in manifest["redactions"].items()) or _("nothing")
    print(path)
    print("gatewaydoctor: " + _(
        "wrote {path} ({size} KiB): {gathered} sources gathered, {failed} failed; redacted: "
        "{masked}. Diagnose it anywhere with {command}.").format(
            path=path, size=f"{size / 1024:.0f}", gathered=gathered, failed=failed,
            masked=masked, command=f"`gatewaydoctor diagnose --from {Path(path).name}`"),
          file=sys.stderr)
    return EXIT_HEALTHY


def _quietly(fn: Callable[..., object], *args: object) -> None:
    """Run a head start in a thread; if it fails, the same work fails again where it is
    needed, and is reported there."""
    with contextlib.suppress(Exception):
        fn(*args)


def _prepare_bundle(items: SimpleQueue[dict[str, Any] | None], early: list[Any],
                    masks: bool, go: threading.Event) -> None:
    """Once `go` is set, load the bundle writer; unless masking, redact items as they come
    (until None).

    A failure here costs only time: what was not redacted early is redacted when written.
    """
    drained = False
    go.wait()
    try:
        from . import bundle

        if not masks:
            prepared = bundle.Early()
            early.append(prepared)
            prepared.take(items)
            drained = True
    except Exception:  # noqa: BLE001, S110 - see above; the writer reports real errors
        pass
    while not drained and items.get() is not None:
        pass


def _known_error(exc: BaseException) -> bool:
    """Bad input reported as one sentence (the modules that raise them may not be loaded)."""
    kinds: list[type[BaseException]] = [UsageError]
    for module, name in (("gatewaydoctor.errors", "EvidenceError"),
                         ("gatewaydoctor.examples", "UnknownExample"),
                         ("gatewaydoctor.report.output", "OutputError")):
        loaded = sys.modules.get(module)
        if loaded is not None:
            kinds.append(getattr(loaded, name))
    return isinstance(exc, tuple(kinds))


def _redact(text: str) -> str:
    from .redact import redact

    return redact(text)


def console() -> NoReturn:
    """The `gatewaydoctor` console script: main(), then exit with its code.

    Before the interpreter shuts down, every object is frozen out of the garbage
    collector: shutdown's last collections would otherwise walk all the evidence the run
    held (~8 ms of a 0.2 s bundle, after the work is done); the process's end frees it.
    """
    code = main()
    import gc

    gc.freeze()
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI: parse argv, run the command, return the exit code (console() exits)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    set_language(_lang_in(argv))  # --lang, else the locale variables
    command = _command_in(argv)
    # completion writes a script for every subcommand's options
    parser = _parser(only=None if command == "completion" else command)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    try:
        if args.command in ("rules", "explain"):
            from . import ruledocs

            if args.command == "rules":
                print(ruledocs.rules_listing(as_json=args.json))
                return EXIT_HEALTHY
            return ruledocs.explain(args.rule, sys.stdout)
        if args.command == "schema":
            from .report import schema

            sys.stdout.write(schema.text())
            return EXIT_HEALTHY
        if args.command == "completion":
            from .completion import script

            sys.stdout.write(script(args.shell, parser))
            return EXIT_HEALTHY
        if args.command == "gather":
            import json

            print(json.dumps(_redactor(args).evidence(_gather(args)), indent=1))
            return EXIT_HEALTHY
        if args.command == "bundle":
            return write_bundle(args)
        if getattr(args, "example", None) == "list":
            from . import examples

            for name, description in examples.available().items():
                print(f"{name:<24} {description}")
            return EXIT_HEALTHY
        report_output.resolve_format(args)  # contradicting options fail before any work
        diagnosis = run_diagnosis(args)
    except Exception as exc:  # noqa: BLE001 - one sentence, never a traceback
        if _known_error(exc):
            print(f"gatewaydoctor: {_redact(str(exc))}", file=sys.stderr)
        else:
            print("gatewaydoctor: " + _("internal error: {error}").format(
                error=f"{type(exc).__name__}: {_redact(str(exc))}"), file=sys.stderr)
        return EXIT_ERROR
    try:
        report_output.write(diagnosis, args)
    except report_output.OutputError as exc:
        print(f"gatewaydoctor: {_redact(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_HEALTHY if diagnosis.verdict == "healthy" else EXIT_PROBLEMS
