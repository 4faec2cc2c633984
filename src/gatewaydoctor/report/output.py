"""Where and how `gatewaydoctor diagnose` writes its report: `--format`, `-o`, `-q`, progress.

Standard library only at import time (the CLI builds its parser from here even for
`gatewaydoctor bundle`, which must start fast); renderers are imported when used.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..errors import GatewayDoctorError
from ..i18n import _

if TYPE_CHECKING:
    from ..diagnose import Diagnosis

FORMATS = ("terminal", "json", "markdown", "html")
SUFFIXES = {".json": "json", ".md": "markdown", ".markdown": "markdown", ".html": "html",
            ".htm": "html", ".txt": "terminal"}


class OutputError(GatewayDoctorError, ValueError):
    """Contradictory output options, or the report cannot be written."""


def add_options(p: argparse.ArgumentParser) -> None:
    """--format, --json (its alias for json), -o FILE and -q on a subcommand."""
    p.add_argument("--format", choices=FORMATS, default=None,
                   help=_("report format (default: terminal, or from the suffix of -o: "
                          ".json, .md, .html)"))
    p.add_argument("--json", action="store_true",
                   help=_("print the JSON report (the same as --format json)"))
    p.add_argument("-o", "--output", metavar="FILE",
                   help=_("write the report to FILE instead of standard output"))
    p.add_argument("-q", "--quiet", action="store_true",
                   help=_("no progress and no notes on standard error (errors still go there)"))


def resolve_format(args: argparse.Namespace) -> str:
    """The format asked for: --format, --json, else -o's suffix, else terminal."""
    fmt: str | None = getattr(args, "format", None)
    if getattr(args, "json", False):
        if fmt not in (None, "json"):
            raise OutputError(_("--json and --format {format} contradict each other").format(
                format=fmt))
        fmt = "json"
    output = getattr(args, "output", None)
    if fmt is None and output:
        fmt = SUFFIXES.get(Path(output).suffix.lower())
    return fmt or "terminal"


def render(d: Diagnosis, fmt: str, *, color: bool | None = False) -> str:
    """The report in one format, as text (every renderer redacts)."""
    if fmt == "json":
        from . import json as json_report

        return json_report.render(d) + "\n"
    if fmt == "markdown":
        from . import markdown

        return markdown.render(d)
    if fmt == "html":
        from . import html

        return html.render(d)
    if fmt == "terminal":
        from . import terminal

        buf = io.StringIO()
        terminal.render(d, buf, color=color)
        return buf.getvalue()
    raise OutputError(_("unknown format {format} (one of {formats})").format(
        format=fmt, formats=", ".join(FORMATS)))


def write(d: Diagnosis, args: argparse.Namespace, stdout: TextIO | None = None) -> None:
    """Write the report where the options say: -o FILE, else stdout."""
    fmt = resolve_format(args)
    output = getattr(args, "output", None)
    if output:
        path = Path(output)
        if path.is_dir():
            raise OutputError(_("-o {path} is a directory; give a file name").format(
                path=output))
        try:
            path.write_text(render(d, fmt), encoding="utf-8")
        except OSError as exc:
            raise OutputError(_("cannot write {path}: {reason}").format(
                path=output, reason=exc.strerror or exc)) from None
        if not getattr(args, "quiet", False):
            print("gatewaydoctor: " + _("wrote the {format} report to {path}").format(
                format=fmt, path=output), file=sys.stderr)
        return
    out = stdout or sys.stdout
    if fmt == "terminal":
        from . import terminal

        terminal.render(d, out, color=None if out.isatty() else False)
    else:
        out.write(render(d, fmt))
    out.flush()


class Progress:
    """`gatewaydoctor: looking at … (12/40)` on one stderr line, rewritten in place."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self.shown = False

    def __call__(self, source: str, done: int, started: int) -> None:
        import shutil

        width = shutil.get_terminal_size((80, 20)).columns
        line = "gatewaydoctor: " + _("{done}/{started} looked at {source}").format(
            done=done, started=started, source=source)
        with self.lock:
            self.stream.write("\r\x1b[K" + line[:max(10, width - 1)])
            self.stream.flush()
            self.shown = True

    def close(self) -> None:
        with self.lock:
            if self.shown:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self.shown = False


def progress_for(args: argparse.Namespace, stream: TextIO | None = None) -> Progress | None:
    """A progress display, or None: silent with --json/--format json, -q, or no TTY."""
    stream = stream or sys.stderr
    if getattr(args, "quiet", False) or os.environ.get("TERM") == "dumb":
        return None
    try:
        if resolve_format(args) == "json":
            return None
    except OutputError:
        return None
    if not stream.isatty():
        return None
    return Progress(stream)
