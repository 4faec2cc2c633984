"""The command line's grammar: the argparse parser with its subcommands and their options.

Two things are read from argv before the parser is built: --lang (the help is translated)
and the subcommand (only its options are built: building them all is a few ms on the way
to the first probe, and only one subcommand runs at a time).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from . import __version__
from .app import Options
from .helpformat import HelpFormatter
from .i18n import LANGUAGES, N_, _
from .lint import command as lint_command
from .report import output as report_output

DESCRIPTION = N_("Command line: `gatewaydoctor diagnose [URL] [--json] [--no-exec] [--skip ...] "
                 "[--only ...]`.")


def parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `only`, the other subcommands get no options."""
    p = argparse.ArgumentParser(prog="gatewaydoctor", description=_(DESCRIPTION),
                                formatter_class=HelpFormatter)
    p.add_argument("--version", action="version", version=f"gatewaydoctor {__version__}",
                   # argparse's own default is fixed in English when argparse is imported
                   help=_("show program's version number and exit"))
    _lang_option(p)
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_text, add_options in COMMANDS:
        each = sub.add_parser(name, help=help_text(), formatter_class=HelpFormatter)
        if only is None or only == name:
            add_options(each)
            _lang_option(each)
    return p


def lang_in(argv: Sequence[str]) -> str | None:
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


def command_in(argv: Sequence[str]) -> str | None:
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


def app_options(args: argparse.Namespace) -> Options:
    """The application's options from a parsed diagnose, bundle or gather command line."""
    return Options(url=args.url, no_exec=args.no_exec, max_log_lines=args.max_log_lines,
                   window=args.window, mask_ips=getattr(args, "mask_ips", False),
                   mask_hosts=getattr(args, "mask_hosts", False),
                   # diagnose only
                   only=tuple(getattr(args, "only", ())), skip=tuple(getattr(args, "skip", ())),
                   from_file=getattr(args, "from_file", None),
                   evidence=getattr(args, "evidence", None),
                   example=getattr(args, "example", None),
                   # fix only
                   with_code=getattr(args, "with_code", False))


def _lang_option(p: argparse.ArgumentParser) -> None:
    # On the program and on every subcommand, so it goes before or after the subcommand.
    p.add_argument("--lang", choices=LANGUAGES, default=argparse.SUPPRESS,
                   help=_("the report's language (default: from LANGUAGE, LC_ALL, LC_MESSAGES, "
                          "LANG)"))


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
    g.add_argument("url", nargs="?",
                   help=_("the URL that fails, e.g. {url}").format(
                       url="http://example.com/api/health"))
    g.add_argument("--no-exec", action="store_true",
                   help=_("do not run the service's Python (no import probe)"))
    _mask_options(g)
    _window_options(g)


def _fix_options(f: argparse.ArgumentParser) -> None:
    f.add_argument("url", nargs="?",
                   help=_("the URL that fails, e.g. {url}").format(
                       url="http://example.com/api/health"))
    what = f.add_mutually_exclusive_group()
    what.add_argument("--apply", action="store_true",
                      help=_("carry the plan out (after a confirmation): files are backed up "
                             "first, the fix is verified and rolled back if it does not hold"))
    what.add_argument("--rollback", metavar="ID",
                      help=_("take an earlier fix run back, byte for byte"))
    what.add_argument("--list", action="store_true", help=_("list the fix runs of this host"))
    what.add_argument("--script", action="store_true",
                      help=_("print the plan as a shell script to review and run on the host "
                             "(with its own backups and a rollback section)"))
    f.add_argument("-y", "--yes", action="store_true",
                   help=_("do not ask before applying (for scripts)"))
    f.add_argument("--force", action="store_true",
                   help=_("roll back even files changed since the fix"))
    f.add_argument("--wait", type=float, default=30.0, metavar="SECONDS",
                   help=_("how long the verification waits for the service to come up "
                          "(default 30)"))
    f.add_argument("--json", action="store_true", help=_("print the plan or run as JSON"))
    f.add_argument("--with-code", action="store_true",
                   help=_("also apply the code changes the plan offers as patches to review "
                          "(e.g. a relative import made absolute)"))
    f.add_argument("-q", "--quiet", action="store_true", help=argparse.SUPPRESS)
    f.add_argument("--no-exec", action="store_true",
                   help=_("do not run the service's Python (no import probe)"))
    f.add_argument("--from", dest="from_file", metavar="FILE",
                   help=_("plan from a bundle taken on the host (with --script)"))
    _window_options(f)


def _rules_options(r: argparse.ArgumentParser) -> None:
    r.add_argument("--json", action="store_true", help=_("print the list as JSON"))


def _explain_options(e: argparse.ArgumentParser) -> None:
    e.add_argument("rule", metavar="ID|SYMBOL",
                   help=_("e.g. {examples}").format(examples="GD-APP-001, relative-import"))


def _completion_options(c: argparse.ArgumentParser) -> None:
    c.add_argument("shell", choices=("bash", "zsh", "fish"),
                   help=_("the shell the script is for"))


def _no_options(_p: argparse.ArgumentParser) -> None:
    pass


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


# name, what `gatewaydoctor -h` says of it (a function: translated when the parser is
# built), and what adds its options
COMMANDS: tuple[tuple[str, Callable[[], str], Callable[[argparse.ArgumentParser], None]],
                ...] = (
    ("diagnose", lambda: _("find why nginx answers 502/503/504 on this host"),
     _diagnose_options),
    ("fix", lambda: _("plan the fix of what diagnose finds; --apply carries it out, verified, "
                      "with backups and rollback"), _fix_options),
    ("bundle", lambda: _("write this host's evidence, redacted, as a .tar.gz anyone can "
                         "diagnose offline"), _bundle_options),
    ("gather", lambda: _("print this host's raw evidence as JSON (redacted)"), _gather_options),
    ("rules", lambda: _("list the rules (ID, symbol, category, severity, title)"),
     _rules_options),
    ("explain", lambda: _("print a rule's documentation: what it detects, why, the evidence "
                          "it uses, how to fix and verify"), _explain_options),
    ("schema", lambda: _("print the JSON Schema of the --json report"), _no_options),
    ("completion", lambda: _("print a shell completion script"), _completion_options),
    ("lint", lambda: _("check unit, supervisor and nginx files for the mistakes behind "
                       "502/503/504 (default: this host's own)"), lint_command.add_options),
    ("generate", lambda: _("write a systemd unit, nginx site or supervisor program for an app "
                           "folder, validated first"), lambda p: _generate_options(p)),
)


def _generate_options(p: argparse.ArgumentParser) -> None:
    from .generate import add_options

    add_options(p)
