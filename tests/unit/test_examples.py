"""The shipped examples: recorded lab evidence diagnosed offline, as a newcomer would see it."""

from __future__ import annotations

import json
import tarfile

import pytest

from gatewaydoctor import examples
from gatewaydoctor.cli import main

EXPECTED = {
    "healthy": None,
    "relative-import": "app.relative_import",
}
LAB_DB_PASSWORD = "S3cretLabPassw0rd"  # lab/gdlab/stack.py; must never be shipped


def test_every_example_is_listed_and_free_of_the_lab_password() -> None:
    names = examples.available()
    assert set(EXPECTED) <= set(names)
    for name in names:
        path = examples.path_of(name)
        assert path.name.endswith(".tar.gz")
        with tarfile.open(path) as tar:
            texts = [tar.extractfile(m).read().decode() for m in tar if m.isfile()]  # type: ignore[union-attr]
        assert any(t.startswith("{") and '"gatewaydoctor.bundle/1"' in t for t in texts)
        assert all(LAB_DB_PASSWORD not in t for t in texts)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_diagnosis(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["diagnose", "--example", name, "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["offline"] and name in report["offline"]
    assert report["taken_at"]
    if EXPECTED[name] is None:
        assert (code, report["verdict"]) == (0, "healthy")
    else:
        assert code == 1
        assert report["causes"][0]["category"] == EXPECTED[name]


def test_example_terminal_report_says_it_is_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", "--example", "relative-import"]) == 1
    out = capsys.readouterr().out
    assert "Offline diagnosis" in out
    assert "attempted relative import" in out


def test_unknown_example_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", "--example", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no example called 'nope'" in err and "relative-import" in err
    assert "Traceback" not in err


def test_example_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", "--example", "list"]) == 0
    assert "relative-import" in capsys.readouterr().out
