"""Shell completion scripts for bash, zsh and fish, generated from the argparse parser by shtab.

`gatewaydoctor completion bash|zsh|fish` prints one. Subcommands, options, choices and
file arguments come from the parser itself, so a new option completes without an edit
here; rule IDs/symbols (for --skip, --only, explain) and example names (for --example)
are the ones this installation knows, written into the script.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator

import shtab

from .errors import UsageError
from .i18n import _

SHELLS = ("bash", "zsh", "fish")
# Option or positional destinations whose values are files.
FILE_DESTS = {"from_file", "evidence", "output"}


def _rule_names() -> list[str]:
    try:
        from .rules import all_rules

        return [name for r in all_rules() for name in (r.symbol, r.id)]
    except Exception:  # noqa: BLE001 - completion works without the rule list
        return []


def _example_names() -> list[str]:
    try:
        from . import examples

        return ["list", *examples.available()]
    except Exception:  # noqa: BLE001
        return ["list"]


def _actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    """Every action of the parser and of its subcommands' parsers."""
    for action in parser._actions:
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _actions(sub)


def _annotate(parser: argparse.ArgumentParser) -> None:
    """Tell shtab which arguments are files, and the values of rule and example names.

    The parser is the one just built for this command line, so its choices may change:
    it has parsed `completion SHELL` already and parses nothing more."""
    dynamic: dict[str, Callable[[], list[str]]] = {
        "skip": _rule_names, "only": _rule_names, "rule": _rule_names,
        "example": _example_names}
    for action in _actions(parser):
        if action.dest in FILE_DESTS:
            action.complete = shtab.FILE  # type: ignore[attr-defined]
        elif action.dest in dynamic and action.choices is None:
            action.choices = dynamic[action.dest]()


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    """The completion script for shell (bash, zsh or fish)."""
    if shell not in shtab.SUPPORTED_SHELLS:  # fish since shtab 1.9, which needs Python 3.9
        raise UsageError(_("{shell} completion needs shtab 1.9 or newer, which needs Python 3.9; "
                           "this Python has shtab {version}: use bash or zsh here, or a newer "
                           "Python").format(shell=shell, version=shtab.__version__))
    _annotate(parser)
    return shtab.complete(parser, shell=shell)
