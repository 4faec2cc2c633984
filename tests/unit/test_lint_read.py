"""How lint reads files: a unit with its drop-ins (an empty ExecStart= resets, as systemd
does), supervisor programs (continuation lines, inline comments, %(here)s), a site or a file
of locations read in the context nginx reads them in with their own line numbers, an include
lint was not given; and lint never crashes on the public nginx corpus (/work/shared)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatewaydoctor import cli
from gatewaydoctor.facts import Endpoint
from gatewaydoctor.lint import read
from gatewaydoctor.lint.run import LintOptions, from_files, from_host, lint

CORPUS = Path("/work/shared/nginx-corpus")
NOT_CONFIG = {"SOURCE.json", "mime.types", "koi-utf", "koi-win", "win-utf"}


def test_a_dropin_overrides_the_unit_and_an_empty_exec_start_resets(tmp_path: Path) -> None:
    unit = tmp_path / "api.service"
    unit.write_text("[Service]\nUser=api\nExecStart=/srv/api/venv/bin/uvicorn main:app\n")
    dropin = tmp_path / "api.service.d" / "port.conf"
    dropin.parent.mkdir()
    dropin.write_text("[Service]\nExecStart=\nExecStart=/srv/api/venv/bin/gunicorn \\\n"
                      "    -b 127.0.0.1:9000 main:app\nUser=root\n")
    [service] = from_files([str(unit), str(dropin)], offline=True).services
    assert service.server == "gunicorn"
    assert service.binds == (Endpoint(host="127.0.0.1", port=9000),)
    assert (service.get("command").file, service.get("command").line) == (str(dropin), 3)
    assert service.get("user").value == "root"
    found = lint(LintOptions((str(unit), str(dropin)), offline=True)).findings
    assert [(f.symbol, f.file, f.line) for f in found] == [("runs-as-root", str(dropin), 5)]


def test_supervisor_programs_with_continuations_and_comments(tmp_path: Path) -> None:
    conf = tmp_path / "apps.conf"
    conf.write_text("[supervisord]\nnodaemon=true\n\n[program:blog]\n"
                    "command=%(here)s/venv/bin/gunicorn ; the server\n"
                    "    --bind unix:/run/blog/blog.sock wsgi:app\n"
                    "directory=%(here)s\nuser=blog\n\n[program:worker]\n"
                    "command=/usr/bin/python3 worker.py\n")
    blog, worker = read.programs(str(conf), conf.read_text())
    assert (blog.name, blog.line, blog.server) == ("blog", 4, "gunicorn")
    assert blog.argv[0] == f"{tmp_path}/venv/bin/gunicorn"
    assert blog.binds == (Endpoint(path="/run/blog/blog.sock"),)
    assert (worker.name, worker.server) == ("worker", None)


@pytest.mark.parametrize(("text", "context"), [
    ("user www-data;\nevents {}\nhttp { server { listen 80; } }\n", "main"),
    ("upstream app { server 127.0.0.1:8000; }\nserver { listen 80; }\n", "http"),
    ("location /api/ {\n    proxy_pass http://127.0.0.1:8000;\n}\n", "server"),
    ("proxy_set_header Host $host;\n", "fragment"),
])
def test_the_context_a_file_is_written_for(text: str, context: str) -> None:
    assert read.context_of(text) == context


def test_a_file_of_locations_keeps_its_own_line_numbers(tmp_path: Path) -> None:
    snippet = tmp_path / "api-locations.conf"
    snippet.write_text("# the API\n\nlocation /api/ {\n    proxy_pass http://localhost:8000;\n"
                       "    proxy_set_header Host $host;\n}\n")
    found = lint(LintOptions((str(snippet),))).findings
    assert {(f.symbol, f.line) for f in found} == {("upstream-address-family", 4),
                                                   ("proxy-headers-missing", 3)}


def test_a_location_with_an_include_lint_was_not_given_is_not_judged(tmp_path: Path) -> None:
    site = tmp_path / "site.conf"
    params = tmp_path / "proxy_headers.conf"
    site.write_text(f"server {{\n  location / {{\n    include {params};\n"
                    "    proxy_pass http://127.0.0.1:8000;\n  }\n}\n")
    params.write_text("proxy_set_header Host $host;\n")
    alone = lint(LintOptions((str(site),))).findings
    assert [f.symbol for f in alone] == []
    both = lint(LintOptions((str(site), str(params)))).findings
    assert [f.symbol for f in both] == ["proxy-headers-missing"]  # read: two are missing
    assert "X-Forwarded-For, X-Forwarded-Proto" in both[0].message


def test_an_ini_of_another_program_is_read_as_nothing(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    ini = tmp_path / "uwsgi.ini"
    ini.write_text("[uwsgi]\nsocket = 127.0.0.1:3031\nmodule = notes.wsgi:application\n")
    assert read.kind_of(str(ini), ini.read_text()) == "other"
    assert cli.main(["lint", str(ini)]) == 0
    assert capsys.readouterr().out == "no problem found in 1 file(s) read\n"


def test_uwsgi_options_from_its_ini_count(tmp_path: Path) -> None:
    ini = tmp_path / "notes.ini"
    ini.write_text("[uwsgi]\nsocket = 127.0.0.1:3031\nharakiri = 120\n")
    unit = tmp_path / "notes.service"
    unit.write_text(f"[Service]\nUser=notes\nWorkingDirectory={tmp_path}\n"
                    "ExecStart=/usr/bin/uwsgi --ini notes.ini\n")
    site = tmp_path / "notes.conf"
    site.write_text("server {\n  location / {\n    include uwsgi_params;\n"
                    "    uwsgi_pass 127.0.0.1:3031;\n    uwsgi_read_timeout 60s;\n  }\n}\n")
    [service] = from_files([str(unit)], offline=False).services
    assert service.binds == (Endpoint(host="127.0.0.1", port=3031),)
    found = lint(LintOptions((str(unit), str(site)))).findings
    assert [(f.symbol, f.line) for f in found if f.file == str(site)] == \
        [("upstream-timeout", 5)]  # 60s < harakiri 120
    assert "uwsgi --harakiri 120" in found[-1].message


def test_this_hosts_own_files_are_read_without_error() -> None:
    """Whatever this machine runs (in CI, perhaps no systemd, no nginx): lint finds what is
    there from the processes, and never fails on it."""
    inputs = from_host()
    assert inputs.listening is not None
    assert all(s.manager in ("systemd", "supervisor") for s in inputs.services)


def _corpus() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []


def test_the_corpus_is_there() -> None:
    assert len(_corpus()) >= 70, f"the nginx corpus is expected in {CORPUS}"


@pytest.mark.parametrize("case", _corpus(), ids=lambda p: p.name)
def test_lint_never_crashes_on_a_real_configuration(case: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(f) for f in sorted(case.rglob("*")) if f.is_file() and f.name not in NOT_CONFIG]
    code = cli.main(["lint", "--format", "json", *files])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    report = json.loads(out)
    assert report["files"] == files
    for f in report["findings"]:
        assert f["file"] in files and f["line"] >= 1 and f["message"]


def test_offline_does_not_look_for_the_paths_files_name() -> None:
    data = Path(__file__).resolve().parents[1] / "data" / "lint"
    files = tuple(str(p) for name in ("exec-missing/fires_venv_gone", "env-missing/fires_env_file",
                                      "workdir-missing/fires_gone")
                  for p in sorted((data / name).iterdir()))
    here = {f.symbol for f in lint(LintOptions(files)).findings}
    assert {"exec-missing", "env-missing", "workdir-missing"} <= here
    away = {f.symbol for f in lint(LintOptions(files, offline=True)).findings}
    assert away & {"exec-missing", "env-missing", "workdir-missing"} == set()
