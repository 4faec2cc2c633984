"""The message catalogs: complete, current, placeholder-safe, and compiled from what is committed.

`scripts/i18n` extracts, merges and compiles; these tests fail when someone adds a `_()`
message without running it, leaves a message untranslated or fuzzy, drops or renames a
`{placeholder}` in a translation, or commits a .po without its fresh .mo.
"""

from __future__ import annotations

import io
import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from gatewaydoctor.i18n import LOCALE_DIR, N_, language_from_env, normalize, sentences, set_language

ROOT = Path(__file__).resolve().parents[2]
POT = LOCALE_DIR / "gatewaydoctor.pot"
PO = {"zh-CN": LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "gatewaydoctor.po"}
# Chinese characters, or the full-width punctuation a Chinese sentence uses.
CHINESE = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "gettext": None}


def _catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def _messages(cat: Catalog) -> list[Message]:
    return [m for m in cat if m.id]


def _ids(cat: Catalog) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in _messages(cat)}


def fields(text: str) -> list[tuple[str, str | None, str]]:
    """The `{name!conv:spec}` replacement fields of a str.format template."""
    return sorted((name, conv, spec) for _lit, name, spec, conv in string.Formatter().parse(text)
                  if name is not None)


def _texts(m: Message) -> list[tuple[str, str]]:
    """(msgid, msgstr) pairs of a message, plural forms included."""
    if isinstance(m.id, str):
        return [(m.id, str(m.string or ""))]
    strings = list(m.string) if isinstance(m.string, (list, tuple)) else [m.string]
    return [(m.id[min(i, 1)], str(s or "")) for i, s in enumerate(strings)]


def test_the_pot_holds_exactly_the_messages_of_the_source(tmp_path: Path) -> None:
    """Extract again (babel.cfg, the same keywords as scripts/i18n) and compare msgids."""
    method_map, options_map = parse_mapping_cfg(io.StringIO((ROOT / "babel.cfg").read_text()))
    fresh = {msg if isinstance(msg, str) else msg[0]
             for _file, _line, msg, _comments, _ctx in extract_from_dir(
                 str(ROOT), method_map, options_map, keywords=KEYWORDS)}
    committed = _ids(_catalog(POT))
    assert sorted(fresh - committed) == [], "in the source but not in the .pot: run scripts/i18n"
    assert sorted(committed - fresh) == [], "in the .pot but no longer in the source: " \
                                            "run scripts/i18n"
    assert len(fresh) > 120  # the reports, the CLI and the facts' messages really are extracted


@pytest.mark.parametrize("lang", sorted(PO))
def test_every_message_has_a_translation_that_is_not_fuzzy(lang: str) -> None:
    po = {m.id if isinstance(m.id, str) else m.id[0]: m for m in _messages(_catalog(PO[lang]))}
    untranslated, fuzzy = [], []
    for msgid in sorted(_ids(_catalog(POT))):
        m = po.get(msgid)
        if m is None or not all(s.strip() for _i, s in _texts(m)):
            untranslated.append(msgid)
        elif m.fuzzy:
            fuzzy.append(msgid)
    assert untranslated == [], f"{lang}: messages without a translation"
    assert fuzzy == [], f"{lang}: fuzzy translations (check them, drop the fuzzy flag)"


@pytest.mark.parametrize("lang", sorted(PO))
def test_placeholders_survive_translation(lang: str) -> None:
    wrong = [(msgid, msgstr) for m in _messages(_catalog(PO[lang])) if m.string
             for msgid, msgstr in _texts(m) if fields(msgid) != fields(msgstr)]
    assert wrong == []


@pytest.mark.parametrize("lang", sorted(PO))
def test_translations_format_with_the_placeholders_of_the_msgid(lang: str) -> None:
    """Formatting a translation with its msgid's names never raises (stray or unbalanced braces)."""
    for m in _messages(_catalog(PO[lang])):
        for msgid, msgstr in _texts(m):
            values = {name.split(".")[0].split("[")[0]: "x" for name, _c, _s in fields(msgid)}
            if values or "{" in msgstr:
                msgstr.format(**values)


@pytest.mark.parametrize("lang", sorted(PO))
def test_the_committed_mo_is_a_fresh_compile_of_the_po(lang: str) -> None:
    cat = _catalog(PO[lang], locale=lang.replace("-", "_"))
    buf = io.BytesIO()
    write_mo(buf, cat, use_fuzzy=False)
    buf.seek(0)
    mo = PO[lang].with_suffix(".mo")
    with mo.open("rb") as fh:
        committed = _mo_texts(read_mo(fh))
    # Messages, not bytes: the header names the Babel version that compiled it.
    assert committed == _mo_texts(read_mo(buf)), f"{mo} is stale: run `scripts/i18n compile`"
    assert len(committed) > 100


def _mo_texts(cat: Catalog) -> dict[tuple[object, str | None], object]:
    # a plural message's id and strings are lists: tuples, to be a key and compare
    return {(tuple(m.id) if isinstance(m.id, (list, tuple)) else m.id, m.context):
            tuple(m.string) if isinstance(m.string, (list, tuple)) else m.string
            for m in cat if m.id}


def test_chinese_reads_like_chinese_not_english_with_chinese_words() -> None:
    """Full sentences of the catalog are Chinese: mostly CJK once code and placeholders go."""
    import re

    for m in _messages(_catalog(PO["zh-CN"])):
        for msgid, msgstr in _texts(m):
            prose = re.sub(r"`[^`]*`|\{[^}]*\}|\([^)]*\)", "", msgid)
            if len(prose.split()) < 6:
                continue  # labels, units, directives: may stay as they are
            assert re.search(r"[\u4e00-\u9fff]", msgstr), msgid
            assert "  " not in msgstr.strip(), msgid


@pytest.mark.parametrize(("env", "want"), [
    ({}, "en"),
    ({"LANG": "zh_CN.UTF-8"}, "zh-CN"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "C"}, "en"),
    ({"LANG": "de_DE.UTF-8"}, "en"),
    ({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh-CN"),
    ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh-CN"),
    ({"LANGUAGE": "zh_CN:en", "LANG": "en_US.UTF-8"}, "zh-CN"),
    ({"LANGUAGE": "fr:en_GB", "LC_ALL": "zh_CN.UTF-8"}, "en"),
    ({"LANGUAGE": "", "LANG": "zh_TW.UTF-8"}, "zh-CN"),
])
def test_language_from_env(env: dict[str, str], want: str) -> None:
    assert language_from_env(env) == want


def test_normalize_and_set_language() -> None:
    assert normalize("zh-cn") == normalize("zh_Hans") == "zh-CN"
    assert normalize("xx") is None
    from gatewaydoctor.i18n import _

    try:
        assert set_language("zh-CN") == "zh-CN"
        assert _("Fix:") == "修复："
        assert _(N_("nobody answered")) == "没有任何响应"
        assert sentences("一。", "二。") == "一。二。"
        assert set_language("en") == "en"
        assert _("Fix:") == "Fix:"
        assert sentences("One.", "Two.") == "One. Two."
    finally:
        set_language("en")


def _rule_messages(module: Path) -> set[str]:
    """The `N_("...")` literals of a rule module: what the rule may say."""
    import ast

    return {n.args[0].value for n in ast.walk(ast.parse(module.read_text(encoding="utf-8")))
            if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "N_" and n.args
            and isinstance(n.args[0], ast.Constant) and isinstance(n.args[0].value, str)}


def _rules() -> list[tuple[str, Path]]:
    from gatewaydoctor.rules import all_rules

    package = ROOT / "src"
    return [(r.symbol, package.joinpath(*r.module.split(".")).with_suffix(".py"))
            for r in all_rules()]


@pytest.mark.parametrize(("symbol", "module"), _rules(), ids=lambda x: getattr(x, "name", x))
def test_a_rule_page_translates_exactly_what_the_rule_says(symbol: str, module: Path) -> None:
    """Every message of the rule module is on its Chinese page (`## 消息`, written by
    scripts/rule-messages), translated, with the same placeholders, and nothing else is."""
    from gatewaydoctor.rules.render import catalog

    translated = catalog(symbol, "zh-CN")
    said = _rule_messages(module)
    assert sorted(said - set(translated)) == [], f"run scripts/rule-messages {symbol}"
    assert sorted(set(translated) - said) == [], f"stale: run scripts/rule-messages {symbol}"
    for english, chinese in translated.items():
        assert chinese.strip(), f"{symbol}: no translation of {english!r}"
        assert fields(chinese) == fields(english), f"{symbol}: placeholders of {english!r}"
        assert CHINESE.search(chinese), f"{symbol}: {chinese!r} is not Chinese"
