"""Messages in the reader's language: English (source) and Simplified Chinese.

Every user-facing string goes through `_()` (or `ngettext`) with named `{placeholders}`
filled in *after* translation: `_("{unit} is not running").format(unit=name)`.
Catalogs live in `locale/<lang>/LC_MESSAGES/gatewaydoctor.po` (compiled `.mo` beside it).
The language comes from `--lang`, else LANGUAGE, LC_ALL, LC_MESSAGES, LANG.
argparse's own words follow the same choice (see argparse_messages.py).
"""

from __future__ import annotations

import gettext
import io
import os
import sys
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from . import packaged

DOMAIN = "gatewaydoctor"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "zh-CN")

_translations: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def language_from_env(env: Mapping[str, str] | None = None) -> str:
    """Pick en or zh-CN from the usual locale variables (first one set wins)."""
    env = os.environ if env is None else env
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if not value:
            continue
        for part in value.split(":"):
            lang = normalize(part)
            if lang:
                return lang
        return "en"
    return "en"


def normalize(value: str) -> str | None:
    """Map `zh_CN.UTF-8`, `zh-cn`, `zh_Hans`, `en_US` ... to a supported language."""
    base = value.split(".")[0].split("@")[0].replace("-", "_").lower()
    if base.startswith("zh"):
        return "zh-CN"
    if base.startswith("en") or base in ("c", "posix"):
        return "en"
    return None


def set_language(lang: str | None = None) -> str:
    """Switch every later `_()` to `lang` (None: from the environment); return it."""
    global _translations, _language
    chosen = normalize(lang) if lang else language_from_env()
    chosen = chosen or "en"
    _translations = gettext.NullTranslations() if chosen == "en" else _catalog(chosen)
    _language = chosen
    _argparse_follows()
    return chosen


@lru_cache(maxsize=None)  # noqa: UP033 - Python 3.8 has no functools.cache
def _catalog(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of lang, read through `packaged` (gettext.translation opens
    files by path, which the single-file build's zip has none of); English when missing."""
    mo = LOCALE_DIR / lang.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.mo"
    try:
        return gettext.GNUTranslations(io.BytesIO(packaged.read_bytes(mo)))
    except OSError:
        return gettext.NullTranslations()


def _argparse_follows() -> None:
    """Point argparse's gettext at our catalog, which carries its words (argparse_messages.py).

    argparse calls the names `_` and `ngettext` it imported from gettext, at the moment it
    builds a parser, formats help or reports an error: those look in the process-wide default
    domain, which is not ours to claim. Rebinding the two names in argparse's module makes its
    words follow set_language; in English (NullTranslations) they stay argparse's own.
    """
    import argparse

    argparse._ = _  # type: ignore[attr-defined]
    argparse.ngettext = ngettext  # type: ignore[attr-defined]
    if sys.version_info < (3, 11):  # before 3.11 an ArgumentError's "argument X: " is not _()'d
        argparse.ArgumentError.__str__ = _argument_error  # type: ignore[method-assign]


def _argument_error(self: object) -> str:
    """argparse.ArgumentError.__str__ as Python 3.11 has it: its format translated."""
    name, message = getattr(self, "argument_name", None), getattr(self, "message", "")
    if name is None:
        return str(message)
    return _("argument %(argument_name)s: %(message)s") % {
        "argument_name": name, "message": message}


def current_language() -> str:
    return _language


def _(message: str) -> str:
    """Translate a message (a literal, so extraction tools can find it)."""
    return _translations.gettext(message)


def N_(message: str) -> str:
    """Mark a message for extraction without translating it now (rule titles declared at
    import time); translate it where it is shown: `_(rule.title)`."""
    return message


def sentences(*parts: str) -> str:
    """Join whole translated sentences (a space in English, nothing after Chinese 。)."""
    sep = "" if _language == "zh-CN" else " "
    return sep.join(p for p in parts if p)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations.ngettext(singular, plural, n)
