"""The published JSON Schema of `--json`: every lab recording's real report validates; broken
reports do not; the published file is what the code's vocabularies say."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
from report_cases import RECORDINGS, diagnosis

from gatewaydoctor.categories import CATEGORIES
from gatewaydoctor.cli import main
from gatewaydoctor.report import schema
from gatewaydoctor.report.json import to_dict

VALIDATOR = jsonschema.Draft202012Validator(schema.load(),
                                            format_checker=jsonschema.FormatChecker())


def errors(report: Any) -> list[str]:
    return [e.message for e in VALIDATOR.iter_errors(report)]


def test_schema_is_draft_2020_12_and_published_copy_is_current() -> None:
    published = schema.load()
    jsonschema.Draft202012Validator.check_schema(published)
    assert published["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    # Regenerate with `python -m gatewaydoctor.report.schema --write` when this fails.
    assert schema.text() == schema.dumps(schema.build())
    assert published["$defs"]["category"]["enum"] == list(CATEGORIES)


def test_schema_subcommand_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == schema.load()


@pytest.mark.parametrize("name", RECORDINGS)
def test_real_report_of_every_recording_validates(name: str) -> None:
    report = to_dict(diagnosis(name))
    assert errors(report) == []


def test_cli_json_output_validates(capsys: pytest.CaptureFixture[str]) -> None:
    from report_cases import path

    main(["diagnose", "--evidence", path("relative-import"), "--json"])
    assert errors(json.loads(capsys.readouterr().out)) == []


def _broken() -> dict[str, Any]:
    return to_dict(diagnosis("relative-import"))


def test_report_without_causes_fails() -> None:
    report = _broken()
    del report["causes"]
    assert any("'causes' is a required property" in m for m in errors(report))


def test_unknown_category_fails() -> None:
    report = _broken()
    report["causes"][0]["category"] = "app.made_up"
    assert any("app.made_up" in m for m in errors(report))
    report = _broken()
    report["findings"][-1]["category"] = "nginx.upstream-mismatch"  # a typo'd real one
    assert errors(report)


@pytest.mark.parametrize("mutate", [
    lambda r: r.update(verdict="fine"),
    lambda r: r.update(schema="gatewaydoctor.report/2"),
    lambda r: r["causes"][0].update(severity="critical"),
    lambda r: r["causes"][0].update(role="cause"),
    lambda r: r["causes"][0]["evidence"][0].pop("source"),
    lambda r: r["causes"][0]["fix"].update(commands="systemctl restart x"),
    lambda r: r["causes"][0].update(rule="APP-1"),
    lambda r: r["chain"][0]["hops"][0].update(status="broken"),
    lambda r: r["coverage"][0].update(status="fine"),
    lambda r: r.update(conclusive="yes"),
    lambda r: r["causes"][0].update(surprise=1),
])
def test_malformed_reports_fail(mutate: Any) -> None:
    report = copy.deepcopy(_broken())
    assert errors(report) == []
    mutate(report)
    assert errors(report)
