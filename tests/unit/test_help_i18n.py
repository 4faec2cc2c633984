"""`--help` and usage errors in the reader's language: our help texts and argparse's own words.

The CLI runs as a real process with only the locale variables set, the way an operator starts
it; English stays English under LANG=C.
"""

from __future__ import annotations

import argparse
import ast
import gettext
import inspect
import os
import re
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po

from gatewaydoctor import argparse_messages, options
from gatewaydoctor.helpformat import columns
from gatewaydoctor.i18n import DOMAIN, LOCALE_DIR, set_language

CJK = re.compile(r"[\u4e00-\u9fff]")
# %-placeholders as argparse fills them: %s, %r, %(name)s ...
PERCENT = re.compile(r"%(?:\([^)]*\))?[#0 +-]*\d*(?:\.\d+)?[a-zA-Z%]")
# What argparse says only of mistakes in the program's own parser: a user never sees these.
PROGRAMMER_ERRORS = {
    "%r is not callable", "'required' is an invalid argument for positionals",
    ".__call__() not defined", "cannot have multiple subparser arguments",
    "cannot merge actions - two groups are named %r", "conflicting option string: %s",
    "conflicting subparser alias: %s", "conflicting subparser: %s",
    "dest= is required for options like %r", "invalid conflict_resolution value: %r",
    "invalid option string %(option)r: must start with a character %(prefix_chars)r",
    "mutually exclusive arguments must be optional",
}
ENGLISH_WORDS = ("usage:", "positional arguments", "show this help message and exit",
                 "show program's version number and exit", "options:", "error:",
                 "the following arguments are required", "invalid choice")


def run(*argv: str, lang: str, width: int = 80) -> subprocess.CompletedProcess[str]:
    """The CLI as an operator starts it: only LANG says the language (COLUMNS the width)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")}
    env.update(LANG=lang, COLUMNS=str(width))
    return subprocess.run([sys.executable, "-m", "gatewaydoctor", *argv], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def assert_no_english_words(text: str) -> None:
    left = [w for w in ENGLISH_WORDS if w in text]
    assert left == [], f"English left in the Chinese output: {left}\n{text}"


def test_top_level_help_is_chinese_under_a_chinese_locale() -> None:
    done = run("--help", lang="zh_CN.UTF-8")
    assert done.returncode == 0
    for words in ("用法：gatewaydoctor", "位置参数", "选项", "显示此帮助信息并退出",
                  "显示程序版本号并退出", "命令行：", "找出本机 nginx 返回 502/503/504 的原因"):
        assert words in done.stdout
    assert_no_english_words(done.stdout)


def test_diagnose_help_is_chinese_under_a_chinese_locale() -> None:
    done = run("diagnose", "--help", lang="zh_CN.UTF-8")
    assert done.returncode == 0
    for words in ("用法：gatewaydoctor diagnose", "位置参数", "显示此帮助信息并退出",
                  "出错的 URL", "不运行服务的 Python"):
        assert words in done.stdout
    assert_no_english_words(done.stdout)


@pytest.mark.parametrize(("argv", "chinese"), [
    (("explain",), "gatewaydoctor explain：错误：缺少以下必需参数：ID|SYMBOL"),
    (("diagnose", "--format", "pdf"), "参数 --format：无效的选择：'pdf'"),
    (("diagnose", "--bogus"), "无法识别的参数：--bogus"),
    (("fix", "--apply", "--list"), "参数 --list：不能与参数 --apply 同时使用"),
    (("diagnose", "--skip"), "参数 --skip：至少需要一个参数值"),
])
def test_a_usage_error_is_chinese_under_a_chinese_locale(argv: tuple[str, ...],
                                                         chinese: str) -> None:
    done = run(*argv, lang="zh_CN.UTF-8")
    assert done.returncode == 2
    assert chinese in done.stderr and done.stderr.startswith("用法：")
    assert_no_english_words(done.stderr)


def test_english_stays_english_under_lang_c() -> None:
    help_text = run("diagnose", "--help", lang="C").stdout
    error = run("explain", lang="C").stderr
    assert "usage: gatewaydoctor diagnose" in help_text and "show this help message" in help_text
    assert "the URL that fails" in help_text
    assert "gatewaydoctor explain: error: the following arguments are required: ID|SYMBOL" \
        in error
    assert not CJK.search(help_text + error)


def test_lang_en_wins_over_a_chinese_locale() -> None:
    done = run("--lang", "en", "explain", lang="zh_CN.UTF-8")
    assert "error: the following arguments are required" in done.stderr
    assert not CJK.search(done.stderr)


@pytest.mark.parametrize("command", [name for name, _help, _add in options.COMMANDS])
def test_every_help_text_of_every_command_is_chinese(command: str) -> None:
    """Every option, argument and subcommand shown in --help has Chinese help (none forgotten)."""
    set_language("zh-CN")
    try:
        parser = options.parser(only=command)
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parsers = [parser, sub.choices[command]]
        helps = {f"{command} {a.dest}": a.help for p in parsers for a in p._actions
                 if a.help != argparse.SUPPRESS and a is not sub}
        helps.update({f"-h {c.dest}": c.help for c in sub._choices_actions})
        helps["description"] = parser.description
    finally:
        set_language("en")
    english = {where: text for where, text in helps.items() if not CJK.search(text or "")}
    assert english == {}, "help without a Chinese translation (mark it with _())"


def _argparse_user_messages() -> set[str]:
    """The msgids the running Python's argparse can show a user (its _() and ngettext())."""
    found = set()
    for node in ast.walk(ast.parse(inspect.getsource(argparse))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "ngettext") and node.args
                and isinstance(node.args[0], ast.Constant)):
            found.add(str(node.args[0].value))
    return found - PROGRAMMER_ERRORS


def test_every_argparse_message_a_user_can_see_is_translated() -> None:
    ours = set(argparse_messages.MESSAGES) | {one for one, _many in argparse_messages.PLURALS}
    missing = sorted(_argparse_user_messages() - ours)
    assert missing == [], f"argparse {sys.version_info[:2]} says these: add them to " \
                          "argparse_messages.py (or PROGRAMMER_ERRORS) and run scripts/i18n"
    zh = gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=["zh_CN"])
    # PLURALS through ngettext below (gettext finds a plural's singular only from 3.9 on)
    untranslated = [m for m in argparse_messages.MESSAGES if zh.gettext(m) == m]
    assert untranslated == []
    assert all(CJK.search(zh.ngettext(one, many, n)) for one, many in argparse_messages.PLURALS
               for n in (1, 2))


def test_percent_placeholders_survive_translation() -> None:
    """argparse fills its words with %: a translation keeps each placeholder of its msgid."""
    with (LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as fh:
        catalog = read_po(fh)
    wrong = []
    for m in catalog:
        if not m.id or "python-format" not in m.flags:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        wrong += [(ids[0], s) for s in strings
                  if sorted(PERCENT.findall(s)) != sorted(PERCENT.findall(ids[0]))]
    assert wrong == []


@pytest.mark.parametrize("command", [None, *(name for name, _help, _add in options.COMMANDS)])
def test_chinese_help_fits_the_terminal_and_its_usage_lines_up(command: str | None) -> None:
    """Wrapped by the columns a terminal shows (a Chinese character takes two), and the usage's
    later lines start under its first argument, as in English."""
    argv = [command, "--help"] if command else ["--help"]
    text = run(*argv, lang="zh_CN.UTF-8", width=80).stdout
    # a line argparse cannot break (a long option list, a choice set) may be longer, as in English
    unbreakable = re.compile(r"^\s*(\{[^ ]*\}|-\S.*\[.*)$")
    wide = [line for line in text.splitlines()
            if columns(line) > 80 and not unbreakable.match(line)]
    assert wide == []
    usage = text.split("\n\n")[0].splitlines()
    first = usage[0]
    assert first.startswith("用法：")
    start = columns(first[: first.index(" [") + 1])  # where the first argument starts
    assert all(columns(line) - len(line.lstrip()) == start for line in usage[1:]), usage


def test_english_help_is_wrapped_as_argparse_wraps_it() -> None:
    """The formatter leaves English to argparse: the same text as argparse's own formatter."""
    parser = options.parser(only="diagnose")
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for each in (parser, sub.choices["diagnose"]):
        ours = each.format_help()
        each.formatter_class = argparse.HelpFormatter
        assert each.format_help() == ours


@pytest.mark.parametrize("width", [12, 20, 54])
def test_wide_text_wraps_by_columns_and_keeps_punctuation_with_its_word(width: int) -> None:
    from gatewaydoctor.helpformat import wrap

    text = ("每个 journal 和 nginx 日志保留的行数（默认：journal 400，error.log 2000，"
            "access.log 500）")
    lines = wrap(text, width)
    assert all(columns(line) <= width for line in lines), lines
    assert not any(line[0] in "，。、；：）" or line[-1] == "（" for line in lines), lines
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # nothing lost or added
