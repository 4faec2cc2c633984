"""The CLI: exit codes, JSON contract, one-sentence errors."""

from __future__ import annotations

import json

import pytest
from cases import evidence_file
from conftest import RULE_FIXTURES

from gatewaydoctor.categories import CATEGORIES
from gatewaydoctor.cli import main


@pytest.fixture(scope="module")
def case_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The relative-import cases as the evidence files the CLI reads."""
    folder = tmp_path_factory.mktemp("cases")
    return {name: str(evidence_file(RULE_FIXTURES / "relative-import" / f"{name}.json", folder))
            for name in ("fires_journal", "healthy_uvicorn")}


@pytest.fixture
def broken(case_files: dict[str, str]) -> str:
    """Evidence on which the app dies of a relative import."""
    return case_files["fires_journal"]


@pytest.fixture
def healthy(case_files: dict[str, str]) -> str:
    """Evidence of a healthy uvicorn app."""
    return case_files["healthy_uvicorn"]


def test_json_contract_on_broken(capsys: pytest.CaptureFixture[str], broken: str) -> None:
    assert main(["diagnose", "--evidence", broken, "--json"]) == 1
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["schema"] == "gatewaydoctor.report/1" and report["verdict"] == "broken"
    top = report["causes"][0]
    assert set(top) >= {"category", "rule", "severity", "title", "evidence", "fix"}
    assert top["category"] == "app.relative_import" and top["rule"] == "GD-APP-001"
    assert all(set(e) == {"source", "text"} for e in top["evidence"])
    assert set(top["fix"]) == {"summary", "commands"}
    assert "from config import settings" in top["fix"]["summary"]
    assert "backend.main:app" in top["fix"]["summary"] and "__init__.py" in top["fix"]["summary"]
    assert all(f["category"] in CATEGORIES for f in report["findings"])
    assert {"chain", "coverage", "not_evaluated"} <= set(report)
    assert err == ""


def test_no_secret_leaks(capsys: pytest.CaptureFixture[str], broken: str) -> None:
    main(["diagnose", "--evidence", broken, "--json"])
    assert "S3cretLabPassw0rd" not in capsys.readouterr().out


def test_healthy_exits_0_and_terminal_renders(capsys: pytest.CaptureFixture[str],
                                               healthy: str) -> None:
    assert main(["diagnose", "--evidence", healthy]) == 0
    assert "HEALTHY" in capsys.readouterr().out


def test_terminal_shows_cause_and_fix(capsys: pytest.CaptureFixture[str], broken: str) -> None:
    assert main(["diagnose", "--evidence", broken]) == 1
    out = capsys.readouterr().out
    assert "relative-import" in out and "journalctl -u fastapi-backend.service" in out


def test_skip_and_only(capsys: pytest.CaptureFixture[str], broken: str) -> None:
    main(["diagnose", "--evidence", broken, "--json", "--skip", "relative-import", "GD-GEN-001"])
    rules = {c["rule"] for c in json.loads(capsys.readouterr().out)["causes"]}
    assert rules and not rules & {"GD-APP-001", "GD-GEN-001"}
    main(["diagnose", "--evidence", broken, "--json", "--only", "crash-loop"])
    assert {c["rule"] for c in json.loads(capsys.readouterr().out)["causes"]} == {"GD-SVC-002"}


@pytest.mark.parametrize("argv", [
    ["diagnose", "ftp://example.com/"],
    ["diagnose", "--skip", "no-such-rule"],
    ["diagnose", "--evidence", "/nonexistent.json"],
    ["diagnose", "--bogus"],
])
def test_bad_input_is_one_sentence_exit_2(argv: list[str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err and err.strip()


def test_live_run_on_this_host_reports_coverage(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["diagnose", "--json", "--no-exec"])
    report = json.loads(capsys.readouterr().out)
    assert code in (0, 1) and code == (0 if report["verdict"] == "healthy" else 1)
    areas = {c["area"]: c for c in report["coverage"]}
    assert {"nginx configuration", "systemd units", "listening sockets"} <= set(areas)
    if not report["conclusive"]:
        assert report["verdict"] != "healthy"


@pytest.mark.parametrize("argv", [
    ["bundle", "http://127.0.0.1/x", "-o", "b.tar.gz", "--mask-ips", "--window", "2h"],
    ["--lang", "zh-CN", "diagnose", "--json", "--skip", "GD-APP-001"],
    ["--lang=en", "gather", "--no-exec"],
    ["explain", "relative-import"],
    ["rules", "--json"],
    ["schema"],
])
def test_parsing_with_only_the_named_command_built_is_the_same(argv: list[str]) -> None:
    from gatewaydoctor.cli import _command_in, _parser

    only = _command_in(argv)
    assert only == next(a for a in argv if not a.startswith("-") and a != "zh-CN")
    assert vars(_parser(only=only).parse_args(argv)) == vars(_parser().parse_args(argv))
    # and a wrong option is still refused by the command's own options
    with pytest.raises(SystemExit):
        _parser(only=only).parse_args([*argv, "--no-such-option"])


def test_no_command_or_help_builds_every_command() -> None:
    from gatewaydoctor.cli import _command_in

    assert _command_in(["-h"]) is None and _command_in([]) is None
    assert _command_in(["--lang", "en"]) is None and _command_in(["bogus"]) is None
