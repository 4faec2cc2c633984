"""What every command shows on the terminal besides its output: the progress line and the
one-sentence messages on stderr."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator

from .app import Progress
from .report import output as report_output


@contextlib.contextmanager
def progress(args: argparse.Namespace) -> Iterator[Progress | None]:
    """The progress line on stderr (None when silent), wiped when the work is done."""
    shown = report_output.progress_for(args)
    try:
        yield shown
    finally:
        if shown is not None:
            shown.close()


def say(sentence: str) -> None:
    """One sentence on stderr, after the program's name."""
    print(f"gatewaydoctor: {sentence}", file=sys.stderr)
