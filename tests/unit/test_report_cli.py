"""Output options (--format, --json, -o, -q), progress on stderr, shell completion."""

from __future__ import annotations

import io
import json
import os
import pty
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from report_cases import args, path

from gatewaydoctor.cli import main
from gatewaydoctor.completion import script
from gatewaydoctor.i18n import current_language, set_language
from gatewaydoctor.options import parser
from gatewaydoctor.report import output

BROKEN = path("relative-import")


@pytest.fixture(autouse=True)
def keep_language() -> Iterator[None]:
    before = current_language()
    yield
    set_language(before)


def test_json_is_an_alias_of_format_json(capsys: pytest.CaptureFixture[str]) -> None:
    main(["diagnose", "--evidence", BROKEN, "--json"])
    alias = capsys.readouterr().out
    main(["diagnose", "--evidence", BROKEN, "--format", "json"])
    assert json.loads(capsys.readouterr().out) == json.loads(alias)


def test_contradicting_formats_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", "--evidence", BROKEN, "--json", "--format", "html",
                 "--lang", "en"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("gatewaydoctor: --json and --format html")


@pytest.mark.parametrize(("suffix", "marker"), [
    (".md", "## 🔴 gatewaydoctor: BROKEN"), (".html", "<!DOCTYPE html>"),
    (".json", '"schema": "gatewaydoctor.report/1"'), (".txt", "gatewaydoctor gdlab: BROKEN"),
])
def test_output_file_format_from_suffix(suffix: str, marker: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / f"report{suffix}"
    assert main(["diagnose", "--evidence", BROKEN, "-o", str(target), "--lang", "en"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and f"wrote the {output.SUFFIXES[suffix]} report to {target}" in err
    assert marker in target.read_text(encoding="utf-8")


def test_quiet_and_bad_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "r.md"
    assert main(["diagnose", "--evidence", BROKEN, "-o", str(target), "-q"]) == 1
    assert capsys.readouterr() == ("", "")
    assert main(["diagnose", "--evidence", BROKEN, "-o", str(tmp_path), "--lang", "en"]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["diagnose", "--evidence", BROKEN, "-o", str(tmp_path / "no" / "r.md"),
                 "--lang", "en"]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_progress_only_on_a_terminal_and_not_for_json_or_quiet() -> None:
    master, slave = pty.openpty()
    try:
        with open(slave, "w", closefd=False) as tty:
            assert isinstance(output.progress_for(args("healthy"), tty), output.Progress)
            assert output.progress_for(args("healthy", "--json"), tty) is None
            assert output.progress_for(args("healthy", "--format", "json"), tty) is None
            assert output.progress_for(args("healthy", "-q"), tty) is None
            assert output.progress_for(args("healthy", "-o", "x.json"), tty) is None
        assert output.progress_for(args("healthy"), io.StringIO()) is None
    finally:
        os.close(master)
        os.close(slave)


def _live_stderr_on_a_tty(argv: list[str]) -> tuple[int, str]:
    """Run a live diagnosis on this host with stderr on a pseudo-terminal; what it showed."""
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "LANGUAGE": "en"}
    proc = subprocess.Popen([sys.executable, "-m", "gatewaydoctor", *argv],
                            stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL,
                            env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=120), b"".join(chunks).decode("utf-8", "replace")


def test_live_progress_on_a_tty_and_silence_with_json() -> None:
    code, shown = _live_stderr_on_a_tty(["diagnose", "--no-exec", "--format", "markdown"])
    assert code in (0, 1), shown
    assert "looked at nginx.dump" in shown or "looked at nginx.test" in shown
    assert shown.endswith("\r\x1b[K")  # the progress line is wiped before the report
    code, shown = _live_stderr_on_a_tty(["diagnose", "--no-exec", "--json"])
    assert code in (0, 1) and shown == ""


def _bash_complete(words: list[str]) -> list[str]:
    """COMPREPLY of the generated bash completion for a command line (last word: partial),
    calling the function the script registers for gatewaydoctor as bash would."""
    line = " ".join(f"'{w}'" for w in words)
    prog = (script("bash", parser()) +
            f'\nCOMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; '
            'fn=$(complete -p gatewaydoctor); fn=${fn##*-F }; fn=${fn%% *}; '
            '"$fn" gatewaydoctor "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"; '
            'printf "%s\\n" "${COMPREPLY[@]}"\n')
    res = subprocess.run(["bash", "--norc", "--noprofile"], input=prog, text=True,
                         capture_output=True, check=True)
    return [x for x in res.stdout.splitlines() if x]


def test_bash_completion() -> None:
    assert set(_bash_complete(["gatewaydoctor", ""])) >= {
        "diagnose", "bundle", "rules", "explain", "schema", "completion"}
    assert _bash_complete(["gatewaydoctor", "diagnose", "--for"]) == ["--format"]
    assert _bash_complete(["gatewaydoctor", "diagnose", "--format", ""]) == [
        "terminal", "json", "markdown", "html"]
    assert "relative-import" in _bash_complete(["gatewaydoctor", "diagnose", "--example", "re"])
    assert "GD-APP-001" in _bash_complete(["gatewaydoctor", "diagnose", "--skip", "GD-A"])
    assert "crash-loop" in _bash_complete(
        ["gatewaydoctor", "diagnose", "--skip", "relative-import", "cr"])
    assert "relative-import" in _bash_complete(["gatewaydoctor", "explain", "rel"])
    assert _bash_complete(["gatewaydoctor", "completion", ""]) == ["bash", "zsh", "fish"]
    assert set(_bash_complete(["gatewaydoctor", "diagnose", "-"])) >= {
        "--format", "--json", "-o", "--output", "-q", "--from", "--example"}
    # A top-level option's value (e.g. --lang zh-CN) is not taken for the subcommand.
    top = [a for a in parser()._actions if a.option_strings and a.choices]
    for action in top:
        flag, value = action.option_strings[-1], str(list(action.choices)[-1])
        assert _bash_complete(["gatewaydoctor", flag, ""]) == [str(c) for c in action.choices]
        assert _bash_complete(["gatewaydoctor", flag, value, "diag"]) == ["diagnose"]
        assert _bash_complete(["gatewaydoctor", flag, value, "diagnose", "--for"]) == [
            "--format"]
    # Files where a file is asked for.
    assert BROKEN in _bash_complete(["gatewaydoctor", "diagnose", "--from", BROKEN[:-8]])


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed here")
def test_fish_completion() -> None:
    def complete(line: str) -> list[str]:
        prog = script("fish", parser()) + f"complete -C{line!r}\n"
        res = subprocess.run(["fish", "--no-config"], input=prog, text=True,
                             capture_output=True, check=True)
        return [x.split("\t")[0] for x in res.stdout.splitlines()]

    assert {"diagnose", "schema", "completion"} <= set(complete("gatewaydoctor "))
    assert "--format" in complete("gatewaydoctor diagnose --for")
    assert set(complete("gatewaydoctor diagnose --format ")) == {
        "terminal", "json", "markdown", "html"}
    assert "bash" in complete("gatewaydoctor completion ")
    assert "GD-APP-001" in complete("gatewaydoctor diagnose --skip GD-A")
    assert "relative-import" in complete("gatewaydoctor explain rel")
    assert complete("gatewaydoctor --lang zh-CN diag") == ["diagnose"]
    assert BROKEN in complete(f"gatewaydoctor diagnose --from {BROKEN[:-8]}")


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed here")
def test_zsh_completion(tmp_path: Path) -> None:
    f = tmp_path / "_gatewaydoctor"
    f.write_text(script("zsh", parser()))
    subprocess.run(["zsh", "-n", str(f)], check=True)
    # Loaded both ways: as a file in $fpath, and with eval "$(gatewaydoctor completion zsh)".
    res = subprocess.run(
        ["zsh", "-f", "-c", f"fpath=({tmp_path} $fpath); autoload -U compinit && "
                            "compinit -u -D && print -r -- ${_comps[gatewaydoctor]}"],
        text=True, capture_output=True, check=True)
    assert res.stdout.strip() == "_gatewaydoctor"
    # In an interactive zsh (on a pty), TAB after --format lists the formats.
    driver = tmp_path / "drive.zsh"
    driver.write_text(
        "zmodload zsh/zpty\nzpty z zsh -f -i\n"
        f"zpty -w z 'autoload -U compinit; compinit -u -D; eval \"$(<{f})\"'\n"
        "zpty -w -n z $'gatewaydoctor diagnose --format \\t'\nout=\n"
        # read until the listing is there (a loaded machine is slow to draw it), 20 s at most
        "for i in {1..200}; do\n  while zpty -r -t z chunk; do out+=$chunk; done\n"
        "  [[ $out == *markdown*terminal* ]] && break\n  sleep 0.1\ndone\n"
        "print -r -- $out\nzpty -d z\n")
    shown = subprocess.run(["zsh", "-f", str(driver)], text=True, capture_output=True,
                           timeout=60, check=True).stdout
    names = ("terminal", "json", "markdown", "html")
    assert any(all(n in line for n in names) for line in shown.splitlines()), shown
