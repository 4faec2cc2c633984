"""`gatewaydoctor generate unit|site|supervisor [APP_DIR]`: a systemd unit, an nginx site or
a supervisor program for an app folder, from what is in it (venv, app target, server, port,
env file, websockets), validated before it is written.

This module stays small: the CLI imports it on every run, the work is imported when asked.
"""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    """The subcommand (cli.py runs it by name): print (dry run) or write the file; 0 on
    success."""
    from .flow import run as generate

    return generate(args)


def add_options(p: argparse.ArgumentParser) -> None:
    """The subcommand's options (options.py's COMMANDS names this)."""
    from .flow import add_options as add

    add(p)
