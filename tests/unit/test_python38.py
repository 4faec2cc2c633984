"""gatewaydoctor runs on Python 3.8 and newer, and says so, in one line, on anything older.

scripts/test runs the unit and rule tests on a real 3.8 and vermin over the source; these
tests add what neither sees: how an older interpreter meets the tool, and the 3.9+ typing
that only fails when evaluated (`X = tuple[int, str]`, `A | B` outside an annotation).
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import shtab

from gatewaydoctor.__main__ import MINIMUM, too_old
from gatewaydoctor.cli import main

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
# Held to 3.6 by their own check (scripts/test, test_agent_python36.py).
OLDER_TARGET = ("agent", "formats")


def find_python(version: str) -> str | None:
    """An interpreter of that version: `pythonX.Y` on PATH (a pyenv shim there may refuse
    to run), else pyenv's own copies. Only one that runs and says that version counts."""
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv"), "/root/.pyenv"]
    candidates = [shutil.which(f"python{version}")] + [
        str(p) for r in roots if r
        for p in sorted(Path(r, "versions").glob(f"{version}.*/bin/python"))]
    for candidate in candidates:
        if not candidate:
            continue
        said = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30, check=False)
        if said.returncode == 0 and said.stdout.strip() == version:
            return candidate
    return None


@pytest.mark.parametrize("version", ["2.7", "3.6", "3.7"])
@pytest.mark.parametrize("lang", ["C.UTF-8", "zh_CN.UTF-8"])
def test_an_older_python_gets_one_line_not_a_traceback(version: str, lang: str) -> None:
    """`python3.6 -m gatewaydoctor diagnose` (and the .pyz, whose __main__ calls the same
    console()) on a CentOS 7 / RHEL 8 interpreter: exit 2, what to do, nothing else."""
    python = find_python(version)
    if python is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no python{version} here (PATH or ~/.pyenv/versions/{version}.*)")
        pytest.skip(f"no python{version} on PATH or in ~/.pyenv/versions")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(SRC),
           "LANG": lang}
    res = subprocess.run([python, "-s", "-m", "gatewaydoctor", "diagnose", "--example",
                          "relative-import"], capture_output=True, text=True, env=env,
                         cwd="/", timeout=60, check=False)
    assert res.returncode == 2 and res.stdout == "", res
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    if lang.startswith("zh") and version != "2.7":  # Python 2 is told in English
        assert "gatewaydoctor 需要 Python 3.8 或更新版本" in lines[0], lines[0]
    else:
        assert lines[0].startswith("gatewaydoctor needs Python 3.8 or newer; "
                                   f"this is Python {version}."), lines[0]
    assert "gatewaydoctor.pyz" in lines[0] and python in lines[0]


def test_this_python_is_new_enough() -> None:
    assert MINIMUM == (3, 8) and too_old(sys.version_info) == ""
    assert too_old((3, 8, 0)) == "" and too_old((3, 10, 2, "final", 0)) == ""
    assert "this is Python 3.7.16 (" in too_old((3, 7, 16, "final", 0))


@pytest.mark.skipif("fish" in shtab.SUPPORTED_SHELLS,
                    reason="shtab writes fish here: test_report_cli.py::test_fish_completion")
def test_fish_completion_on_an_older_shtab_says_what_it_needs(
        capsys: pytest.CaptureFixture[str]) -> None:
    """On 3.8 pip installs shtab 1.7, which has no fish: one sentence, exit 2."""
    assert main(["completion", "fish"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fish completion needs shtab 1.9 or newer" in err, err
    assert main(["completion", "bash"]) == 0 and "gatewaydoctor" in capsys.readouterr().out


def test_the_console_entry_is_the_version_check() -> None:
    """The installed `gatewaydoctor` script must reach the check before cli.py is parsed."""
    text = (ROOT / "pyproject.toml").read_text()
    assert 'gatewaydoctor = "gatewaydoctor.__main__:console"' in text


# -- 3.9+ typing evaluated at run time --------------------------------------------------

# Subscripted, these fail on 3.8 ("'type' object is not subscriptable"): typing's aliases
# (Tuple, Dict, Callable ...) are what a run-time alias or cast takes there.
BUILTIN_GENERICS = {"tuple", "list", "dict", "set", "frozenset", "type"}


class _RuntimeTyping(ast.NodeVisitor):
    """Subscripted builtins and collections.abc classes, and `A | B` of classes, in code
    that runs: everything but annotations (strings under `from __future__ import
    annotations`, never evaluated by the package: parse/typed.py reads them itself)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.abc: set[str] = set()
        self.found: list[tuple[int, str]] = []
        self.depth = 0

    def said(self, node: ast.AST) -> str:
        return (ast.get_source_segment(self.source, node) or "")[:80]  # ast.unparse: 3.9

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "collections.abc":
            self.abc.update(a.asname or a.name for a in node.names)

    def visit_arg(self, node: ast.arg) -> None:
        pass  # a parameter's annotation

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for child in [*node.decorator_list, *node.args.defaults,
                      *[d for d in node.args.kw_defaults if d is not None]]:
            self.visit(child)
        self.depth += 1
        for statement in node.body:
            self.visit(statement)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.value, ast.Name) and (
                node.value.id in BUILTIN_GENERICS or node.value.id in self.abc):
            self.found.append((node.lineno, self.said(node)))
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        if self.depth == 0 and _class_union(node.value):  # a module or class level alias
            self.found.append((node.lineno, self.said(node)))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        named = node.func.id if isinstance(node.func, ast.Name) else ""
        if named in ("isinstance", "issubclass") and len(node.args) == 2 and \
                _class_union(node.args[1]):
            self.found.append((node.lineno, self.said(node)))
        self.generic_visit(node)


def _class_union(node: ast.expr) -> bool:
    """`A | B` of names, attributes, subscripts or None: classes, not sets or flags."""
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr)):
        return False
    sides = (node.left, node.right)
    plain = (ast.Name, ast.Attribute, ast.Subscript, ast.Constant, ast.BinOp)
    return all(isinstance(s, plain) for s in sides) and any(
        isinstance(s, ast.Constant) and s.value is None
        or isinstance(s, ast.Name) and _class_name(s.id)
        or isinstance(s, ast.Attribute) and _class_name(s.attr)
        or isinstance(s, ast.BinOp) and _class_union(s) for s in sides)


def _class_name(name: str) -> bool:
    """CapWords (a class), not UPPER_CASE (a constant: `os.O_RDWR | os.O_CREAT`)."""
    return name[:1].isupper() and not name.isupper()


def test_no_typing_only_3_9_evaluates_at_run_time() -> None:
    found = []
    for path in sorted((SRC / "gatewaydoctor").rglob("*.py")):
        if path.relative_to(SRC / "gatewaydoctor").parts[0] in OLDER_TARGET:
            continue
        text = path.read_text()
        visitor = _RuntimeTyping(text)
        visitor.visit(ast.parse(text, str(path)))
        found += [f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in visitor.found]
    assert not found, "\n".join(found)


def test_the_scan_sees_what_3_8_cannot_run() -> None:
    """The scan above finds each form (else its silence would prove nothing)."""
    source = '''
from collections.abc import Callable
from typing import Tuple
Alias = tuple[int, str]
Hook = Callable[[int], None]
Step = Command | FileChange
Maybe = Process | None
ok: tuple[int, ...] = Tuple[int, ...]
flags = os.O_RDWR | os.O_CREAT
names = {1} | {2}
def f(x: list[int]) -> dict[str, int]:
    return isinstance(x, ast.List | ast.Tuple) or cast(list[str], x)
'''
    visitor = _RuntimeTyping(source)
    visitor.visit(ast.parse(source))
    assert [line for line, _ in visitor.found] == [4, 5, 6, 7, 12, 12], visitor.found
