"""`python -m gatewaydoctor` and the `gatewaydoctor` command: the CLI, on Python 3.8 or newer.

An older interpreter reads this file and gatewaydoctor/__init__.py before anything else of
the package, so both keep to what Python 2.7 and 3.6 parse (no annotations, f-strings or
`from __future__ import annotations`): there it says in one line what to do instead of
failing with a SyntaxError from deep inside the package (tests/unit/test_python38.py runs
it with each older Python found here).
"""

import os
import sys

MYPY = False
if MYPY:  # type comments, not annotations: Python 2.7 parses this file too
    from typing import Any, Tuple  # noqa: F401 - used in the type comments

MINIMUM = (3, 8)


def _(message):  # type: (str) -> str
    """The message in the reader's language, from the package's own catalog (the .mo is read
    as package data, so this works from the single-file .pyz too); English if that fails."""
    chosen = ""
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):  # as i18n.language_from_env
        chosen = os.environ.get(var, "")
        if chosen:
            break
    if not chosen.lower().startswith("zh") or sys.version_info < (3,):
        return message
    try:
        import gettext
        import io
        import pkgutil

        data = pkgutil.get_data("gatewaydoctor", "locale/zh_CN/LC_MESSAGES/gatewaydoctor.mo")
        return gettext.GNUTranslations(io.BytesIO(data or b"")).gettext(message)
    except Exception:  # noqa: BLE001 - the English line is still the right answer
        return message


def too_old(version):  # type: (Tuple[Any, ...]) -> str
    """The line an interpreter older than MINIMUM gets, or "" when it is new enough."""
    if tuple(version[:2]) >= MINIMUM:
        return ""
    return _("gatewaydoctor needs Python 3.8 or newer; this is Python {version} ({path}). "
             "Run the single file with a newer Python if the host has one (`python3.8 "
             "gatewaydoctor.pyz diagnose`), or install it with pipx for a newer Python "
             "(`pipx install --python python3.8 .` in a checkout).").format(
        version=".".join(str(n) for n in version[:3]), path=sys.executable or "python")


def console():  # type: () -> None
    """Check the interpreter, then run the CLI (exit status 2 when it is too old)."""
    line = too_old(sys.version_info)
    if line:
        try:
            line.encode(sys.stderr.encoding or "ascii")
            sys.stderr.write(line + "\n")
        except (UnicodeError, LookupError):
            # Python 3.6 under a zh_CN.UTF-8 it has no locale for writes ASCII escapes; the
            # terminal that asked for Chinese reads UTF-8.
            sys.stderr.flush()
            sys.stderr.buffer.write((line + "\n").encode("utf-8"))
        sys.exit(2)
    from .cli import console as run  # parsed only now: it needs 3.8

    run()


if __name__ == "__main__":
    console()
