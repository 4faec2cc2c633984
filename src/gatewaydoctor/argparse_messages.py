"""argparse's own words ("usage: ", "positional arguments", "show this help message and exit",
its error messages), marked here so they are extracted into our catalog and translated with
the rest; `i18n.set_language` points argparse's gettext at that catalog.

argparse looks its words up with the process-wide `gettext.gettext` (domain "messages", no
catalog shipped for it), so without this `--help` would be half English under a Chinese
locale. The msgids are argparse's exactly, for Python 3.8 to 3.13 (some exist only in some
versions); tests/unit/test_help_i18n.py checks that every message the running Python's
argparse can show a user is here. Its messages about mistakes in the program's own parser
(conflicting option strings, `dest=` required ...) are left out: a user never sees them.
Nothing imports this module: it is read by the extractor and the tests.
"""

from __future__ import annotations

from .i18n import N_, ngettext

MESSAGES = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),  # Python >= 3.10
    N_("optional arguments"),  # Python < 3.10
    N_("subcommands"),
    N_("%(heading)s:"),
    N_(" (default: %(default)s)"),
    N_("show this help message and exit"),
    N_("show program's version number and exit"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("%(prog)s: warning: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ignored explicit argument %r"),
    N_("not allowed with argument %s"),
    N_("one of the arguments %s is required"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("unexpected option string: %s"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("can't open '%(filename)s': %(error)s"),
    N_("argument \"-\" with mode %r"),
    N_("argument '%(argument_name)s' is deprecated"),
    N_("command '%(parser_name)s' is deprecated"),
    N_("option '%(option)s' is deprecated"),
)

PLURALS = (("expected %s argument", "expected %s arguments"),)


def _extracted_plurals() -> None:
    """Never called: the ngettext call marks PLURALS for the extractor (N_ takes one form)."""
    ngettext("expected %s argument", "expected %s arguments", 0)
