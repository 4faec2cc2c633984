"""Real reports in the reader's language: `LANG=zh_CN.UTF-8` is Chinese, `--lang en` English.

Every lab recording and every shipped example is diagnosed through the CLI with a Chinese
locale: each translatable field of the JSON report (summary, titles, explanations, fix
summaries, comments in fix commands, chain titles) holds Chinese, and no English sentence of
the catalog is left in the terminal, JSON or Markdown output, except inside evidence (log
lines, config excerpts: data, never translated). JSON keys, categories, rule IDs, verdict
values and evidence stay as they are. `--lang en` under the Chinese locale gives English.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from report_cases import RECORDINGS, path

from gatewaydoctor import examples
from gatewaydoctor.cli import main
from gatewaydoctor.i18n import LOCALE_DIR, current_language, set_language

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
EXAMPLES = sorted(examples.available())
LOCALE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


@pytest.fixture(autouse=True)
def restore_language() -> Iterator[None]:
    before = current_language()
    yield
    set_language(before)


@pytest.fixture
def chinese_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in LOCALE_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return out


def source(kind: str, name: str) -> list[str]:
    return ["--example", name] if kind == "example" else ["--evidence", path(name)]


CASES = [("example", n) for n in EXAMPLES] + [("recording", n) for n in RECORDINGS]


@lru_cache(maxsize=None)
def english_fragments() -> tuple[str, ...]:
    """Runs of three or more English words between the placeholders of every msgid."""
    with (LOCALE_DIR / "gatewaydoctor.pot").open("rb") as fh:
        cat = read_po(fh)
    out = set()
    for m in cat:
        if not m.id:
            continue
        for msgid in ([m.id] if isinstance(m.id, str) else m.id):
            for chunk in re.split(r"\{[^}]*\}|`[^`]*`", msgid):
                words = re.findall(r"[A-Za-z][A-Za-z'-]*", chunk)
                text = " ".join(chunk.split()).strip(" ,.;:()'\"")
                if len(words) >= 3 and len(text) >= 15:
                    out.add(text)
    return tuple(sorted(out))


def flat(text: str) -> str:
    """Text without box drawing and line wrapping, for searching sentences across lines."""
    return " ".join(re.sub(r"[│╭╮╰╯─├└┌┐┘┬┴┼]", " ", text).split())


def evidence_texts(report: dict[str, Any]) -> list[str]:
    texts = [flat(e["text"]) for f in report["findings"] for e in f["evidence"]]
    texts += [flat(e["source"]) for f in report["findings"] for e in f["evidence"]]
    texts += [flat(e["text"]) for c in report["chain"] for h in c["hops"] for e in h["evidence"]]
    return texts


def english_left(text: str, report: dict[str, Any]) -> list[str]:
    """Catalog sentences in text that are not part of an evidence line."""
    body, data = flat(text), evidence_texts(report)
    return [frag for frag in english_fragments()
            if frag in body and not any(frag in d for d in data)]


def translatable(report: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, text) for every field of the JSON report a reader reads as prose."""
    yield "summary", report["summary"]
    for f in report["findings"]:
        yield f"{f['rule']} title", f["title"]
        yield f"{f['rule']} explanation", f["explanation"]
        yield f"{f['rule']} fix.summary", f["fix"]["summary"]
        for cmd in f["fix"]["commands"]:
            if cmd.lstrip().startswith("#"):
                yield f"{f['rule']} fix comment", cmd
    for c in report["chain"]:
        yield "chain", c["request"]


def commands(f: dict[str, Any]) -> list[str]:
    """A finding's fix commands without their comments (the comments are translated)."""
    return [re.sub(r"\s+#\s.*$", "", c) for c in f["fix"]["commands"]
            if not c.lstrip().startswith("#")]


@pytest.mark.usefixtures("chinese_locale")
@pytest.mark.parametrize(("kind", "name"), CASES, ids=[f"{k}:{n}" for k, n in CASES])
def test_chinese_locale_gives_a_chinese_json_report(capsys: pytest.CaptureFixture[str],
                                                    kind: str, name: str) -> None:
    zh = json.loads(run(capsys, "diagnose", *source(kind, name), "--json"))
    en = json.loads(run(capsys, "diagnose", *source(kind, name), "--json", "--lang", "en"))
    not_chinese = [(where, text) for where, text in translatable(zh) if not CJK.search(text)]
    assert not_chinese == []
    for where, text in translatable(zh):
        assert english_left(text, zh) == [], f"{where}: {text}"
    # Data stays data: the same keys, IDs, categories, verdict, evidence and commands.
    assert zh.keys() == en.keys()
    assert zh["verdict"] == en["verdict"]
    assert [(f["rule"], f["symbol"], f["category"], f["severity"], f["role"], f["layer"],
             f["evidence"], f["links"]) for f in zh["findings"]] == \
        [(f["rule"], f["symbol"], f["category"], f["severity"], f["role"], f["layer"],
          f["evidence"], f["links"]) for f in en["findings"]]
    assert [commands(f) for f in zh["findings"]] == [commands(f) for f in en["findings"]]
    assert [h["status"] for c in zh["chain"] for h in c["hops"]] == \
        [h["status"] for c in en["chain"] for h in c["hops"]]


@pytest.mark.usefixtures("chinese_locale")
@pytest.mark.parametrize(("kind", "name"), CASES, ids=[f"{k}:{n}" for k, n in CASES])
@pytest.mark.parametrize("fmt", ["terminal", "markdown"])
def test_chinese_locale_leaves_no_english_sentence_in_the_report(
        capsys: pytest.CaptureFixture[str], kind: str, name: str, fmt: str) -> None:
    report = json.loads(run(capsys, "diagnose", *source(kind, name), "--json"))
    text = run(capsys, "diagnose", *source(kind, name), "--format", fmt)
    assert english_left(text, report) == []
    verdict = {"healthy": "正常", "degraded": "部分异常", "broken": "故障"}[report["verdict"]]
    assert verdict in text
    if report["causes"]:
        assert "修复：" in text
        assert flat(report["causes"][0]["title"])[:20] in flat(text)


@pytest.mark.usefixtures("chinese_locale")
@pytest.mark.parametrize(("kind", "name"), CASES[:len(EXAMPLES)] + [
    ("recording", "db-auth-startup"), ("recording", "permission-write"),
    ("recording", "firewall-drop"), ("recording", "upstream-slow")])
@pytest.mark.parametrize("fmt", ["terminal", "json", "markdown", "html"])
def test_lang_en_under_a_chinese_locale_is_english(capsys: pytest.CaptureFixture[str],
                                                   kind: str, name: str, fmt: str) -> None:
    before = run(capsys, "--lang", "en", "diagnose", *source(kind, name), "--format", fmt)
    after = run(capsys, "diagnose", *source(kind, name), "--format", fmt, "--lang", "en")
    assert before == after
    assert CJK.findall(after) == []


def test_the_command_line_under_lang_zh_cn_utf8(tmp_path: Path) -> None:
    """The real console command, in a fresh process, as a user in a Chinese locale runs it."""
    env = {k: v for k, v in os.environ.items() if k not in LOCALE_VARS}
    env["LANG"] = "zh_CN.UTF-8"
    cmd = [sys.executable, "-m", "gatewaydoctor", "diagnose", "--example", "relative-import"]
    zh = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=60)
    assert zh.returncode == 1, zh.stderr
    assert "故障" in zh.stdout and "根因" in zh.stdout and "修复：" in zh.stdout
    assert "相对导入失败" in zh.stdout
    # Evidence stays as the journal wrote it.
    assert "ImportError: attempted relative import with no known parent package" in zh.stdout
    en = subprocess.run([*cmd, "--lang", "en"], capture_output=True, text=True, env=env,
                        check=False, timeout=60)
    assert en.returncode == 1
    assert CJK.findall(en.stdout) == []
    assert "BROKEN" in en.stdout and "root cause" in en.stdout
    bad = subprocess.run([*cmd, "--lang", "fr"], capture_output=True, text=True, env=env,
                         check=False, timeout=60)
    assert bad.returncode == 2 and "--lang" in bad.stderr


@pytest.mark.usefixtures("chinese_locale")
def test_cli_errors_are_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", "--example", "no-such-example"]) == 2
    err = capsys.readouterr().err
    assert "没有名为 'no-such-example' 的示例" in err
    assert main(["diagnose", "--window", "soon"]) == 2
    assert "不是有效的时间跨度" in capsys.readouterr().err
    assert main(["diagnose", "--from", str(ROOT / "no-such.tar.gz")]) == 2
    assert "文件不存在" in capsys.readouterr().err


def test_severity_words_are_in_the_readers_language(capsys: pytest.CaptureFixture[str],
                                                    chinese_locale: None) -> None:
    markdown = run(capsys, "diagnose", "--example", "relative-import", "--format", "markdown")
    metas = [line for line in markdown.splitlines() if line.startswith("`GD-")]
    assert metas and all(" · 错误 · " in m or " · 警告 · " in m or " · 提示 · " in m
                         for m in metas), metas
    assert not any(re.search(r" · (error|warning|info) · ", m) for m in metas)
    html = run(capsys, "diagnose", "--example", "relative-import", "--format", "html")
    assert '<span class="tag">错误</span>' in html and '<span class="tag">error</span>' not in html
    # The JSON keeps the values other tools rely on.
    report = json.loads(run(capsys, "diagnose", "--example", "relative-import", "--json"))
    assert {f["severity"] for f in report["findings"]} <= {"error", "warning", "info"}
