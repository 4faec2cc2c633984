"""The shape the code keeps: small rule modules with simple detectors, a thin CLI, and an import
contract that names every module the agent must not import."""

from __future__ import annotations

from pathlib import Path

import pytest
from radon.complexity import cc_visit

import gatewaydoctor
from gatewaydoctor.rules.registry import Rule, all_rules

PACKAGE = Path(gatewaydoctor.__file__).parent
ROOT = PACKAGE.parents[1]
MOVED = [r for r in all_rules() if r.detector is not None]


def _module_file(rule: Rule) -> Path:
    return PACKAGE.joinpath(*rule.module.split(".")[1:]).with_suffix(".py")


@pytest.mark.parametrize("rule", MOVED, ids=lambda r: r.symbol)
def test_a_rule_module_is_small(rule: Rule) -> None:
    lines = _module_file(rule).read_text().count("\n")
    assert lines <= 120, f"{rule.module} is {lines} lines (at most 120): split its logic"


@pytest.mark.parametrize("rule", MOVED, ids=lambda r: r.symbol)
def test_a_detector_is_simple(rule: Rule) -> None:
    assert rule.detector is not None
    blocks = {b.name: b.complexity for b in cc_visit(_module_file(rule).read_text())}
    complexity = blocks[rule.detector.__name__]
    assert complexity <= 10, (f"{rule.module}.{rule.detector.__name__} has cyclomatic "
                              f"complexity {complexity} (at most 10): move steps into helpers "
                              "or onto the facts")


def test_the_cli_is_thin() -> None:
    lines = (PACKAGE / "cli.py").read_text().count("\n")
    assert lines <= 150, f"cli.py is {lines} lines: the pipeline belongs in app.py"


def test_the_agent_contract_names_every_other_module() -> None:
    try:
        import tomllib
    except ImportError:  # Python 3.10: import-linter brings tomli
        import tomli as tomllib
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    agent = next(c for c in config["contracts"]
                 if c.get("source_modules") == ["gatewaydoctor.agent"])
    top = {f"gatewaydoctor.{p.stem}" for p in PACKAGE.iterdir()
           if (p.suffix == ".py" and p.stem not in ("__init__", "__main__"))
           or (p.is_dir() and (p / "__init__.py").exists())}
    allowed = {"gatewaydoctor.agent", "gatewaydoctor.formats"}
    assert set(agent["forbidden_modules"]) == top - allowed


def test_test_modules_have_distinct_names() -> None:
    # The test folders are not packages: pytest imports each test file by its basename, so two
    # files of one name in different folders break collection of the whole suite.
    seen: dict[str, Path] = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        if "data" in path.relative_to(ROOT / "tests").parts:
            continue
        assert path.name not in seen, f"{path} and {seen[path.name]} share a module name"
        seen[path.name] = path
