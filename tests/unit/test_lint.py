"""Every lint check is declared like a rule and has a firing and a healthy fixture (gixy's
idea: tests/data/lint/<symbol>/fires_*/ and healthy_*/, real-shaped files), enforced here over
the registry, so a check without both fails; and each fixture does what its name says."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewaydoctor.findings import Severity
from gatewaydoctor.i18n import N_
from gatewaydoctor.lint import registry
from gatewaydoctor.lint.model import Hit, Inputs
from gatewaydoctor.lint.run import LintOptions, lint
from gatewaydoctor.rules import REGISTRY, all_rules

DATA = Path(__file__).resolve().parents[1] / "data" / "lint"
CHECKS = registry.all_checks()


def _cases(prefix: str) -> list[tuple[registry.Check, Path]]:
    return [(c, d) for c in CHECKS for d in sorted((DATA / c.symbol).glob(f"{prefix}_*"))
            if d.is_dir()]


def _found(case: Path) -> list[tuple[str, str]]:
    files = sorted(str(p) for p in case.rglob("*") if p.is_file())
    return [(f.rule, f.symbol) for f in lint(LintOptions(tuple(files))).findings]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.module.rsplit(".", 1)[1])
def test_every_check_has_a_firing_and_a_healthy_fixture(check: registry.Check) -> None:
    folder = DATA / check.symbol
    assert sorted(folder.glob("fires_*")), f"no {folder}/fires_*/"
    assert sorted(folder.glob("healthy_*")), f"no {folder}/healthy_*/"


@pytest.mark.parametrize(("check", "case"), _cases("fires"),
                         ids=lambda x: x.name if isinstance(x, Path) else x.symbol)
def test_fires(check: registry.Check, case: Path) -> None:
    assert (check.id, check.symbol) in _found(case)


@pytest.mark.parametrize(("check", "case"), _cases("healthy"),
                         ids=lambda x: x.name if isinstance(x, Path) else x.symbol)
def test_does_not_fire(check: registry.Check, case: Path) -> None:
    assert (check.id, check.symbol) not in _found(case)


def test_fixture_folders_belong_to_checks() -> None:
    assert {p.name for p in DATA.iterdir()} == {c.symbol for c in CHECKS}


def test_a_check_reports_under_the_diagnose_rule_of_its_failure_mode() -> None:
    all_rules()
    for c in CHECKS:
        shared = REGISTRY.get(c.id)
        if shared is None:
            assert c.id.startswith("GD-LNT-") and c.title and c.category in \
                registry.LINT_CATEGORIES
        else:
            assert (shared.symbol, shared.category) == (c.symbol, c.category)
    shared_ids = {c.id for c in CHECKS if c.id in REGISTRY}
    # the failure modes issue 13 names, with the rule diagnose reports them under
    assert {"GD-NGX-001", "GD-NGX-003", "GD-NGX-006", "GD-NGX-007", "GD-NGX-009",
            "GD-SVC-004", "GD-CFG-001", "GD-NET-002"} <= shared_ids
    assert {i.id for i in registry.lint_rules()} == {c.id for c in CHECKS} - shared_ids


@pytest.mark.parametrize(("kw", "message"), [
    ({"id": "GD-NGX-003", "symbol": "proxy-unbound", "category": "nginx.upstream_mismatch"},
     "is upstream-mismatch"),
    ({"id": "GD-XYZ-001", "symbol": "thing", "category": "nginx.proxy_headers"},
     "not GD-LNT-nnn"),
    ({"id": "GD-LNT-900", "symbol": "thing", "category": "no.such"}, "unknown category"),
    ({"id": "GD-LNT-900", "symbol": "thing", "category": "nginx.proxy_headers"},
     "needs a title"),
])
def test_the_registry_rejects_a_wrong_declaration(kw: dict[str, str], message: str) -> None:
    def detector(inputs: Inputs) -> list[Hit]:
        return []

    with pytest.raises(registry.CheckError, match=message):
        registry.check(severity=Severity.WARNING, message=N_("x"), **kw)(detector)


def test_one_check_per_module() -> None:
    c = CHECKS[0]
    with pytest.raises(registry.CheckError, match="one check per module"):
        registry.check(id=c.id, symbol=c.symbol, category=c.category, severity=c.severity,
                       message=c.message, title=c.title)(c.detector)


LINT = Path(registry.__file__).parent


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.module.rsplit(".", 1)[1])
def test_a_check_module_is_small(check: registry.Check) -> None:
    path = LINT / "checks" / (check.module.rsplit(".", 1)[1] + ".py")
    lines = path.read_text().count("\n")
    assert lines <= 120, f"{check.module} is {lines} lines (at most 120), like a rule module"


@pytest.mark.parametrize("path", sorted(LINT.rglob("*.py")), ids=lambda p: p.stem)
def test_every_lint_function_is_simple(path: Path) -> None:
    from radon.complexity import cc_visit

    complex_ = {b.name: b.complexity for b in cc_visit(path.read_text()) if b.complexity > 10}
    assert complex_ == {}, f"{path.name}: cyclomatic complexity above 10: {complex_}"
