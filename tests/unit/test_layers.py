"""The shape the imports must keep: the agent ships with formats/ alone, parse/ and facts/
never reach into the agent, and evidence source keys are spelled only in formats/sources.py."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatewaydoctor.formats import sources

PKG = Path(__file__).resolve().parents[2] / "src" / "gatewaydoctor"


def _modules(*dirs: str) -> list[Path]:
    return sorted(p for d in dirs for p in (PKG / d).glob("*.py"))


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(level, module) of every import: level 0 is absolute, 1 is `.x`, 2 is `..x`."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((0, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.level, node.module or ""


def _stdlib(name: str) -> bool:
    return name.split(".")[0] in sys.stdlib_module_names or name == "__future__"


@pytest.mark.parametrize("path", _modules("agent"), ids=lambda p: p.name)
def test_the_agent_imports_only_the_standard_library_itself_and_formats(path: Path) -> None:
    for level, name in _imports(path):
        ok = (_stdlib(name) if level == 0 else level == 1
              or (level == 2 and name.split(".")[0] == "formats"))
        assert ok, f"agent/{path.name} imports {'.' * level}{name}"


@pytest.mark.parametrize("path", _modules("formats"), ids=lambda p: p.name)
def test_formats_import_only_the_standard_library_and_each_other(path: Path) -> None:
    for level, name in _imports(path):
        assert (_stdlib(name) if level == 0 else level == 1), \
            f"formats/{path.name} imports {'.' * level}{name}"


@pytest.mark.parametrize("path", _modules("parse", "facts"), ids=lambda p: f"{p.parent.name}/"
                         f"{p.name}")
def test_parse_and_facts_never_import_the_agent(path: Path) -> None:
    for level, name in _imports(path):
        assert not (level == 2 and name.split(".")[0] == "agent"), \
            f"{path.parent.name}/{path.name} imports ..{name}"


def test_diagnose_reads_facts_not_evidence() -> None:
    assert all(name != "evidence" for _level, name in _imports(PKG / "diagnose.py"))


_OLD_SUBSCRIPTS = {"dict", "list", "tuple", "set", "frozenset", "type"}


def _annotations(tree: ast.Module) -> Iterator[ast.expr]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
                if arg is not None and arg.annotation is not None:
                    yield arg.annotation
            if node.returns is not None:
                yield node.returns
        elif isinstance(node, ast.AnnAssign):
            yield node.annotation


def _too_new(tree: ast.Module) -> Iterator[str]:
    """What Python 3.6 cannot evaluate: `dict[...]` and the like, collections.abc generics
    subscripted, `X | Y` in an annotation (function and module-level annotations are
    evaluated there, and the agent writes the rest the same way); `if TYPE_CHECKING:` is
    never run."""
    abc = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
           and n.module == "collections.abc" for a in n.names}
    checked = [s for s in tree.body
               if not (isinstance(s, ast.If) and getattr(s.test, "id", None) == "TYPE_CHECKING")]
    for node in (n for stmt in checked for n in ast.walk(stmt)):
        if isinstance(node, ast.Subscript) and getattr(node.value, "id", "") in \
                _OLD_SUBSCRIPTS | abc:
            yield f"line {node.lineno}: {ast.unparse(node)}"
        elif isinstance(node, ast.ImportFrom) and node.module == "__future__":
            yield f"line {node.lineno}: from __future__ import (a SyntaxError before 3.7)"
    for ann in _annotations(tree):
        for node in ast.walk(ann):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
                yield f"line {node.lineno}: {ast.unparse(node)}"


@pytest.mark.parametrize("path", [*_modules("agent", "formats"), PKG / "__init__.py"],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_agent_is_written_for_the_oldest_python_it_meets(path: Path) -> None:
    """The agent ships to hosts whose python3 is 3.6 (CentOS 7, RHEL 8): its annotations
    are typing's generics, evaluated there (tests/unit/test_agent_python36.py runs it on a
    real 3.6; vermin checks the library calls in scripts/test)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), feature_version=(3, 6))
    assert not list(_too_new(tree)), f"{path.parent.name}/{path.name}"


def test_the_agent_runs_with_formats_alone(tmp_path: Path) -> None:
    """What a remote python3 would get: gatewaydoctor/__init__.py, formats/ and agent/,
    no site-packages, no other gatewaydoctor module."""
    ship = tmp_path / "gatewaydoctor"
    ship.mkdir()
    shutil.copy(PKG / "__init__.py", ship)
    for part in ("formats", "agent"):
        shutil.copytree(PKG / part, ship / part, ignore=shutil.ignore_patterns("__pycache__"))
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "import gatewaydoctor.agent.gather, gatewaydoctor.agent.appprobe\n"
        "from gatewaydoctor.formats import execspec, sources\n"
        "mods = sorted(m for m in sys.modules if m.startswith('gatewaydoctor.'))\n"
        "assert all(m.split('.')[1] in ('agent', 'formats') for m in mods), mods\n"
        "assert gatewaydoctor.__file__.startswith(sys.path[0]), gatewaydoctor.__file__\n"
        "print(sources.unit_show('api.service'), execspec.server_of(['uvicorn']))\n"
    )
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["systemd.show:api.service", "uvicorn"]


_KEYS = {v for k, v in vars(sources).items()
         if k.isupper() and isinstance(v, str) and "." in v}


def _spelled_keys(path: Path) -> Iterator[tuple[int, str]]:
    """String literals (and f-strings' leading text) that spell a source key or prefix."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.JoinedStr) and node.values:
            node = node.values[0]
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if any(text == k or (k.endswith((":", ".")) and text.startswith(k)) for k in _KEYS):
                yield node.lineno, text


@pytest.mark.parametrize("path", [*_modules("agent", "parse"), PKG / "evidence.py",
                                  PKG / "diagnose.py"],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_source_keys_are_made_only_in_formats_sources(path: Path) -> None:
    found = list(_spelled_keys(path))
    assert not found, f"{path.parent.name}/{path.name} spells keys: {found}"
