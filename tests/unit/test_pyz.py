"""The single-file build (scripts/build-pyz) as a host with nothing installed runs it:
`python3 gatewaydoctor.pyz ...` isolated (-I: no PYTHONPATH, no user site), without any
site-packages (-S), with an empty HOME, with this interpreter and with the oldest Python the
tool supports (its Requires-Python). On the shipped example bundle it says what the installed
tool says, in English and in Chinese, and writes the HTML report; its package files (message
catalogs, rule pages, templates, examples, schema) are read from inside the zip."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

import gatewaydoctor

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "src" / "gatewaydoctor" / "examples" / "relative-import.tar.gz"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _version_of(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    major, minor = out.split()
    return int(major), int(minor)


def find_python(version: tuple[int, int]) -> str | None:
    """An interpreter of exactly X.Y (as scripts/build-pyz looks for one): pythonX.Y on
    PATH, else pyenv's versions folder."""
    dotted = f"{version[0]}.{version[1]}"
    candidates = [shutil.which(f"python{dotted}")]
    for root in filter(None, [os.environ.get("PYENV_ROOT"), os.path.expanduser("~/.pyenv"),
                              "/root/.pyenv"]):
        candidates += [str(p) for p in sorted(Path(root, "versions").glob(
            f"{dotted}.*/bin/python{dotted}"))]
    return next((p for p in filter(None, candidates) if _version_of(p) == version), None)


def oldest_supported() -> tuple[int, int]:
    """The lower bound of pyproject's requires-python (`>=3.8`)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    m = re.search(r'^requires-python\s*=\s*">=\s*(\d+)\.(\d+)', text, re.M)
    assert m, "pyproject.toml has no requires-python lower bound"
    return int(m.group(1)), int(m.group(2))


def _pythons() -> list[Any]:
    """This interpreter, and one of the oldest version the tool supports (its absence fails
    in CI and shows as a skip elsewhere)."""
    here = sys.version_info[:2]
    oldest = oldest_supported()
    params: list[Any] = [pytest.param(sys.executable, id=f"python{here[0]}.{here[1]}")]
    if oldest != here:
        found = find_python(oldest)
        dotted = f"{oldest[0]}.{oldest[1]}"
        marks = [] if found or IN_CI else [pytest.mark.skip(
            reason=f"no Python {dotted} here (python{dotted} on PATH or in pyenv)")]
        params.append(pytest.param(found or f"python{dotted}", id=f"oldest-python{dotted}",
                                   marks=marks))
    return params


PYTHONS = _pythons()


def run(python: str, pyz: Path, *args: str, lang: str = "C.UTF-8",
        home: Path | None = None, cache: bool = False) -> subprocess.CompletedProcess[str]:
    """`python -I -S gatewaydoctor.pyz args` with an empty HOME and nothing but PATH, LANG;
    from the zip itself unless cache (then the first run unpacks it into HOME's cache)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": lang,
           "HOME": str(home or pyz.parent / "home"),
           "GATEWAYDOCTOR_PYZ_CACHE": "1" if cache else "0"}
    Path(env["HOME"]).mkdir(exist_ok=True)
    return subprocess.run([python, "-I", "-S", str(pyz), *args], capture_output=True,
                          text=True, timeout=120, env=env, cwd=pyz.parent, check=False)


def installed(*args: str, lang: str = "C.UTF-8") -> subprocess.CompletedProcess[str]:
    """The same command of the tool installed in this environment."""
    env = {**os.environ, "LANG": lang, "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": ""}
    return subprocess.run([sys.executable, "-m", "gatewaydoctor", *args], capture_output=True,
                          text=True, timeout=120, env=env, check=False)


def test_the_file_is_a_compressed_zipapp_with_its_checksum(pyz: Path) -> None:
    raw = pyz.read_bytes()
    assert raw.startswith(b"#!/usr/bin/env python3\n")
    checksum = pyz.with_name(pyz.name + ".sha256").read_text(encoding="ascii")
    assert checksum == f"{hashlib.sha256(raw).hexdigest()}  {pyz.name}\n"
    with zipfile.ZipFile(pyz) as zf:
        names = zf.namelist()
        infos = zf.infolist()
    assert "__main__.py" in names and "gatewaydoctor/cli.py" in names
    # Pure Python only: a compiled module would load on one Python version (markupsafe's
    # speedups are left out; it falls back to its Python code, tested below by --html).
    assert not [n for n in names if n.endswith((".so", ".pyd", ".pyc"))]
    for package in ("crossplane", "rich", "jinja2", "markupsafe", "markdown_it", "mdurl",
                    "pygments", "shtab"):
        assert f"{package}/__init__.py" in names, package
    for data in ("gatewaydoctor/locale/zh_CN/LC_MESSAGES/gatewaydoctor.mo",
                 "gatewaydoctor/report/report.schema.json",
                 "gatewaydoctor/docs/rules/zh-CN/relative-import.md",
                 "gatewaydoctor/examples/relative-import.tar.gz"):
        assert data in names, data
    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in infos if i.file_size)


def test_this_python_alone_cannot_import_what_the_file_brings() -> None:
    # The runs below prove something only if -I -S really leaves the dependencies out.
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", "import rich"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "No module named 'rich'" in proc.stderr


@pytest.mark.parametrize("python", PYTHONS)
def test_version(python: str, pyz: Path) -> None:
    proc = run(python, pyz, "--version")
    assert (proc.returncode, proc.stdout) == (0, f"gatewaydoctor {gatewaydoctor.__version__}\n"), \
        proc.stderr


@pytest.mark.parametrize("lang", ["C.UTF-8", "zh_CN.UTF-8"])
@pytest.mark.parametrize("python", PYTHONS)
def test_diagnose_from_the_example_says_what_the_installed_tool_says(
        python: str, lang: str, pyz: Path) -> None:
    proc = run(python, pyz, "diagnose", "--from", str(EXAMPLE), "--json", lang=lang)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["causes"][0]["category"] == "app.relative_import"
    if lang.startswith("zh"):  # the rule's Chinese, from its page inside the zip
        assert "相对导入" in report["causes"][0]["title"], report["causes"][0]["title"]
    want = installed("diagnose", "--from", str(EXAMPLE), "--json", lang=lang)
    assert report == json.loads(want.stdout)


@pytest.mark.parametrize("python", PYTHONS)
def test_terminal_report_in_chinese(python: str, pyz: Path) -> None:
    proc = run(python, pyz, "diagnose", "--from", str(EXAMPLE), lang="zh_CN.UTF-8")
    assert proc.returncode == 1, proc.stderr
    # The program's catalog (the .mo inside the zip) and the rule's page.
    assert "故障" in proc.stdout and "离线诊断" in proc.stdout, proc.stdout[:500]
    assert "相对导入失败" in proc.stdout


@pytest.mark.parametrize("python", PYTHONS)
def test_html_report_in_both_languages(python: str, pyz: Path) -> None:
    for lang, section in (("C.UTF-8", "What it detects"), ("zh_CN.UTF-8", "检测内容")):
        out = pyz.parent / f"report-{lang}.html"
        proc = run(python, pyz, "diagnose", "--from", str(EXAMPLE), "-o", str(out), lang=lang)
        assert proc.returncode == 1, proc.stderr
        html = out.read_text(encoding="utf-8")
        # The jinja2 templates, and the rule's page rendered by markdown-it, from the zip;
        # evidence escaped by markupsafe's Python code.
        assert html.lstrip().lower().startswith("<!doctype html>")
        assert 'id="rule-relative-import"' in html and section in html
        assert "from .config import settings" in html


def test_every_other_subcommand_reads_its_files_from_the_zip(pyz: Path) -> None:
    python = sys.executable
    example = run(python, pyz, "diagnose", "--example", "db-down-health", "--json")
    assert example.returncode == 1 and json.loads(example.stdout)["verdict"] == "broken", \
        example.stderr
    schema = run(python, pyz, "schema")
    assert json.loads(schema.stdout) == json.loads(installed("schema").stdout)
    explain = run(python, pyz, "explain", "relative-import", lang="zh_CN.UTF-8")
    assert explain.stdout.startswith("# GD-APP-001 relative-import:") and "## 检测内容" in \
        explain.stdout
    completion = run(python, pyz, "completion", "bash")
    assert completion.returncode == 0 and "gatewaydoctor" in completion.stdout
    plan = run(python, pyz, "fix", "--from", str(EXAMPLE))
    assert "[relative-import, by hand]" in plan.stdout, plan.stderr
    assert plan.returncode == installed("fix", "--from", str(EXAMPLE)).returncode
    conf = ROOT / "tests" / "data" / "lint" / "config-invalid" / "fires_unbalanced" / "shop.conf"
    lint = run(python, pyz, "lint", "--offline", "--format", "json", str(conf))
    assert [f["symbol"] for f in json.loads(lint.stdout)["findings"]] == ["config-invalid"]
    app = ROOT / "tests" / "data" / "generate" / "apiws"
    unit = run(python, pyz, "generate", "unit", str(app), "--user", "www-data",
               "--venv", sys.prefix)
    assert unit.returncode == 0 and "ExecStart=" in unit.stdout, unit.stderr


PROBE_FROM_ZIP = """
import json, os, sys
sys.path.insert(0, sys.argv[1])  # where zipapp puts the archive when it runs it
from gatewaydoctor.agent import nsprobe
print(json.dumps(nsprobe.run_in(os.getpid(), "connect", "probe", endpoint=sys.argv[2])))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="nsenter into a network namespace needs root")
def test_the_agent_started_as_a_subprocess_runs_from_the_zip(pyz: Path) -> None:
    # nsprobe runs `python -m gatewaydoctor.agent.nsprobe` under nsenter: that child finds the
    # package in the zip through PYTHONPATH, with no gatewaydoctor installed for it.
    # The interpreter under this venv (its bin/python is a link to it): the child it starts
    # has no gatewaydoctor but the zip's.
    base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    alone = subprocess.run([base, "-I", "-c", "import gatewaydoctor"], capture_output=True,
                           text=True, check=False)
    assert "No module named 'gatewaydoctor'" in alone.stderr
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        endpoint = f"127.0.0.1:{listener.getsockname()[1]}"
        proc = subprocess.run([base, "-I", "-S", "-c", PROBE_FROM_ZIP, str(pyz), endpoint],
                              capture_output=True, text=True, timeout=60, check=False)
    item = json.loads(proc.stdout)
    assert item["argv"][-4:-2] == ["-m", "gatewaydoctor.agent.nsprobe"]
    assert item["error"] is None and item["data"]["connected"] is True, item


def _unpacked_copies(home: Path) -> list[Path]:
    return sorted((home / ".cache" / "gatewaydoctor").glob("pyz-*"))


@pytest.mark.parametrize("python", PYTHONS)
def test_later_runs_import_from_an_unpacked_copy_with_its_bytecode(
        python: str, pyz: Path, tmp_path: Path) -> None:
    first = run(python, pyz, "diagnose", "--from", str(EXAMPLE), "--json", home=tmp_path,
                cache=True)
    (copy,) = _unpacked_copies(tmp_path)
    assert (copy / ".complete").is_file() and (copy / "gatewaydoctor" / "cli.py").is_file()
    assert list((copy / "gatewaydoctor").glob("__pycache__/cli.*.pyc")), \
        "the first run should leave the bytecode it compiled"
    second = run(python, pyz, "diagnose", "--from", str(EXAMPLE), "--json", home=tmp_path,
                 cache=True)
    assert (first.returncode, second.returncode) == (1, 1), second.stderr
    assert json.loads(first.stdout)["causes"] == json.loads(second.stdout)["causes"]
    assert _unpacked_copies(tmp_path) == [copy]


def test_no_cache_when_turned_off_and_none_from_someone_else(pyz: Path, tmp_path: Path) -> None:
    off = run(sys.executable, pyz, "--version", home=tmp_path)
    assert off.returncode == 0 and not (tmp_path / ".cache").exists()
    # A copy not owned by the user running the file (a shared or planted cache) is not
    # imported: this one would print a lie if it were.
    if os.geteuid() != 0:
        pytest.skip("giving the copy to another user needs root")
    assert run(sys.executable, pyz, "--version", home=tmp_path, cache=True).returncode == 0
    (copy,) = _unpacked_copies(tmp_path)
    (copy / "gatewaydoctor" / "cli.py").write_text("print('planted')\n", encoding="utf-8")
    shutil.rmtree(copy / "gatewaydoctor" / "__pycache__", ignore_errors=True)
    os.chown(copy, 65534, 65534)
    planted = run(sys.executable, pyz, "--version", home=tmp_path, cache=True)
    assert planted.stdout == f"gatewaydoctor {gatewaydoctor.__version__}\n", planted.stdout


def test_a_python_too_old_gets_one_clear_line(pyz: Path, tmp_path: Path) -> None:
    old = find_python((3, 6)) or find_python((3, 7))
    if old is None:
        pytest.skip("no Python 3.6 or 3.7 here")
    proc = run(old, pyz, "diagnose", home=tmp_path, cache=True)
    assert proc.returncode == 3 and proc.stdout == ""
    assert proc.stderr.startswith("gatewaydoctor needs Python 3.8 or newer; this python3 is 3.")
    assert "Traceback" not in proc.stderr and not (tmp_path / ".cache").exists()
