"""The CLI: exit codes, JSON contract, one-sentence errors."""

from __future__ import annotations

import json
from pathlib import Path

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
    from gatewaydoctor.options import command_in, parser

    only = command_in(argv)
    assert only == next(a for a in argv if not a.startswith("-") and a != "zh-CN")
    assert vars(parser(only=only).parse_args(argv)) == vars(parser().parse_args(argv))
    # and a wrong option is still refused by the command's own options
    with pytest.raises(SystemExit):
        parser(only=only).parse_args([*argv, "--no-such-option"])


def test_no_command_or_help_builds_every_command() -> None:
    from gatewaydoctor.options import command_in

    assert command_in(["-h"]) is None and command_in([]) is None
    assert command_in(["--lang", "en"]) is None and command_in(["bogus"]) is None


def test_every_bad_input_error_is_a_gatewaydoctor_error() -> None:
    from gatewaydoctor.bundle import BundleError
    from gatewaydoctor.errors import EvidenceError, GatewayDoctorError, UsageError
    from gatewaydoctor.examples import UnknownExample
    from gatewaydoctor.report.output import OutputError
    from gatewaydoctor.ruledocs import DocError
    from gatewaydoctor.rules import RegistryError

    for kind in (UsageError, EvidenceError, BundleError, UnknownExample, OutputError, DocError,
                 RegistryError):
        assert issubclass(kind, GatewayDoctorError), kind
    # and the older bases stay, for the `except` sites that name them
    assert issubclass(OutputError, ValueError) and issubclass(EvidenceError, ValueError)
    assert issubclass(DocError, LookupError)


def test_a_bad_input_error_is_its_sentence_redacted(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str],
                                                    broken: str) -> None:
    from gatewaydoctor import app
    from gatewaydoctor.errors import UsageError

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise UsageError("cannot reach postgresql://app:S3cretLabPassw0rd@db/x")

    monkeypatch.setattr(app, "run_diagnosis", refuse)
    assert main(["diagnose", "--evidence", broken]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "gatewaydoctor: cannot reach postgresql://app:***@db/x\n"


def test_an_unexpected_error_is_one_redacted_internal_error(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        broken: str) -> None:
    from gatewaydoctor import app

    def crash(*_args: object, **_kwargs: object) -> None:
        raise KeyError("password=hunter2")

    monkeypatch.setattr(app, "run_diagnosis", crash)
    assert main(["--lang", "en", "diagnose", "--evidence", broken]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("gatewaydoctor: internal error: KeyError: ")
    assert "hunter2" not in err and err.count("\n") == 1


def test_every_command_of_the_parser_has_a_handler() -> None:
    from gatewaydoctor.cli import COMMANDS
    from gatewaydoctor.options import COMMANDS as PARSED

    assert list(COMMANDS) == [name for name, _help, _add in PARSED]


def test_the_application_returns_what_the_cli_prints(tmp_path: Path, broken: str) -> None:
    from gatewaydoctor import app

    assert app.run_diagnosis(app.Options(evidence=broken)).verdict == "broken"
    written = app.write_bundle(app.Options(no_exec=True), str(tmp_path / "b.tar.gz"))
    assert written.path == str(tmp_path / "b.tar.gz")
    assert written.size == (tmp_path / "b.tar.gz").stat().st_size > 0
    assert written.gathered > 0 and written.failed >= 0
    assert set(app.examples()) >= {"healthy", "relative-import"}
