"""Service, app, config, permission and port rules on lab-recorded evidence (and real files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cases import load_case
from conftest import RULE_FIXTURES

from gatewaydoctor.agent import files
from gatewaydoctor.diagnose import Diagnosis, diagnose
from gatewaydoctor.evidence import Item
from gatewaydoctor.facts import Traceback
from gatewaydoctor.findings import Finding
from gatewaydoctor.parse import build_facts
from gatewaydoctor.parse.python import exception_detail, find_tracebacks
from gatewaydoctor.parse.systemd import unit_file_text
from gatewaydoctor.rules import all_rules, run_rules


def _diagnose(rel: str) -> Diagnosis:
    ev = load_case(RULE_FIXTURES / rel)
    facts = build_facts(ev)
    return diagnose(facts, run_rules(facts, all_rules()))


def _text(f: Finding) -> str:
    return "\n".join(e.text for e in f.evidence)


def _commands(f: Finding) -> str:
    return "\n".join(f.fix.commands)


@pytest.mark.parametrize(("rel", "category", "decisive"), [
    ("service-not-running/fires_disabled.json", "service.not_running", "UnitFileState=disabled"),
    ("crash-loop/fires_unknown.json", "service.crash_loop", "status=1/FAILURE"),
    ("start-limit-hit/fires_lab.json", "service.start_limit_hit",
     "Start request repeated too quickly"),
    ("exec-missing/fires_lab.json", "service.exec_missing", "status=203/EXEC"),
    ("workdir-missing/fires_lab.json", "service.workdir_missing", "status=200/CHDIR"),
    ("unit-changed/fires_lab.json", "service.unit_changed", "daemon-reload"),
    ("startup-failed/fires_lab.json", "app.startup_failed", "Application startup failed"),
    ("python-version/fires_lab.json", "app.python_version",
     "cannot import name 'override' from 'typing'"),
    ("env-missing/fires_env_file_missing.json", "config.env_missing",
     "Failed to load environment files"),
    ("env-missing/fires_var_unset.json", "config.env_missing", "postgres_url"),
    ("permission-denied/fires_code.json", "permission.denied", "Permission denied"),
    ("permission-denied/fires_write.json", "permission.denied", "Permission denied"),
    ("port-conflict/fires_lab.json", "port.conflict", "address already in use"),
])
def test_root_cause_ranks_first(rel: str, category: str, decisive: str) -> None:
    d = _diagnose(rel)
    assert d.verdict == "broken"
    assert d.causes[0].category == category, [c.category for c in d.causes]
    assert decisive in _text(d.causes[0])


def test_disabled_unit_is_enabled_and_started() -> None:
    top = _diagnose("service-not-running/fires_disabled.json").causes[0]
    assert top.fix.commands == ("systemctl enable --now fastapi-backend.service",)


def test_crash_loop_is_a_symptom_when_the_logs_say_why() -> None:
    d = _diagnose("crash-loop/fires_relative_import.json")
    loop = next(f for f in d.findings if f.symbol == "crash-loop")
    assert loop.role == "symptom"
    unknown = _diagnose("crash-loop/fires_unknown.json").causes[0]
    assert unknown.role == "cause"
    assert "printed nothing" in _text(unknown)


def test_start_limit_fix_resets_the_failed_state() -> None:
    top = _diagnose("start-limit-hit/fires_lab.json").causes[0]
    assert "systemctl reset-failed fastapi-backend.service" in top.fix.commands
    assert "status=1/FAILURE" in _text(top)


def test_unit_changed_outranks_the_old_exec_failure() -> None:
    order = [c.category for c in _diagnose("unit-changed/fires_lab.json").causes]
    assert order.index("service.unit_changed") < order.index("service.exec_missing")
    top = _diagnose("unit-changed/fires_lab.json").causes[0]
    assert "NeedDaemonReload=yes" in _text(top)
    assert "/srv/app/backend/venv/bin/python -m uvicorn" in _text(top)  # the fix on disk
    assert top.fix.commands[0] == "systemctl daemon-reload"


def test_python_version_states_the_interpreter() -> None:
    top = _diagnose("python-version/fires_lab.json").causes[0]
    assert "Python 3.11" in _text(top)
    assert "3.12" in top.title


def _tb(exc: str, msg: str, code: str = "x = 1") -> Traceback:
    text = (f'Traceback (most recent call last):\n  File "/srv/app/main.py", line 3\n'
            f"    {code}\n{exc}: {msg}")
    return Traceback(unit="u", origin="journal", exc_type=exc, exc_message=msg,
                     last_line=f"{exc}: {msg}", text=text, time=None, source="s")


@pytest.mark.parametrize(("tb", "have", "want"), [
    (_tb("ImportError", "cannot import name 'Self' from 'typing' (/usr/lib/python3.10/typing.py)"),
     (3, 10), ((3, 11), "typing.Self", True)),
    (_tb("ModuleNotFoundError", "No module named 'tomllib'"), (3, 10),
     ((3, 11), "the module tomllib", True)),
    (_tb("ModuleNotFoundError", "No module named 'distutils'"), (3, 12),
     ((3, 12), "the module distutils", False)),
    (_tb("SyntaxError", "invalid syntax", "type Vector = list[float]"), (3, 11),
     ((3, 12), "the `type X = ...` statement", True)),
    (_tb("AttributeError", "module 'datetime' has no attribute 'UTC'"), (3, 10),
     ((3, 11), "datetime.UTC", True)),
])
def test_python_version_table(tb: Traceback, have: tuple[int, int],
                              want: tuple[tuple[int, int], str, bool]) -> None:
    assert tb.needs_python(have) == want


@pytest.mark.parametrize(("tb", "have"), [
    (_tb("ImportError", "cannot import name 'override' from 'typing'"), (3, 12)),
    (_tb("ModuleNotFoundError", "No module named 'psycopg2'"), (3, 8)),
    (_tb("ModuleNotFoundError", "No module named 'distutils'"), (3, 11)),
    (_tb("SyntaxError", "invalid syntax", "def f(:"), (3, 11)),
])
def test_python_version_does_not_blame_the_version(tb: Traceback, have: tuple[int, int]) -> None:
    assert tb.needs_python(have) is None


def test_env_missing_lists_keys_never_values() -> None:
    top = _diagnose("env-missing/fires_var_unset.json").causes[0]
    text = _text(top)
    assert "sets: APP_NAME (keys only" in text
    assert "postgres_url: Field required [type=missing]" in text
    # pydantic prints the input values; the app name is one of them.
    assert "FastAPI Backend" not in text + top.title + top.explanation + _commands(top)
    assert "POSTGRES_URL" in top.fix.summary


def test_env_file_missing_names_the_environment_file() -> None:
    top = _diagnose("env-missing/fires_env_file_missing.json").causes[0]
    assert "EnvironmentFile=/srv/app/backend/.env" in _text(top)
    assert "no such file: /srv/app/backend/.env" in _text(top)


def test_pydantic_detail_lines_are_kept_with_the_traceback() -> None:
    lines = ["Traceback (most recent call last):", '  File "/a/config.py", line 13, in <module>',
             "    settings = Settings()", "pydantic_core._pydantic_core.ValidationError: 2 "
             "validation errors for Settings", "postgres_url",
             "  Field required [type=missing, input_value={}, input_type=dict]",
             "redis_url", "  Field required [type=missing, input_value={}, input_type=dict]",
             "ERROR:    Application startup failed. Exiting."]
    [(start, end, exc, msg)] = find_tracebacks(lines)
    detail = exception_detail(lines, end)
    assert detail[-1].startswith("  Field required") and len(detail) == 4
    tb = Traceback(unit="u", origin="journal", exc_type=exc, exc_message=msg,
                   last_line=lines[end], text="", time=None, source="s", detail=detail)
    assert tb.missing_fields == ["postgres_url", "redis_url"]


def test_permission_shows_owner_against_the_unit_user() -> None:
    code = _diagnose("permission-denied/fires_code.json").causes[0]
    assert "main.py: file owned by root:root, mode 0600" in _text(code)
    assert "User=app" in _text(code)
    assert "chown app:app /srv/app/backend/main.py" in code.fix.commands
    write = _diagnose("permission-denied/fires_write.json").causes[0]
    assert "/srv/app/backend/logs: directory owned by root:root" in _text(write)
    assert "chown app:app /srv/app/backend/logs" in write.fix.commands


def test_port_conflict_names_the_squatter() -> None:
    top = _diagnose("port-conflict/fires_lab.json").causes[0]
    assert "0.0.0.0:8000 is held by pid" in _text(top)
    assert "debug-server.service" in _text(top)
    assert "systemctl stop debug-server.service" in top.fix.commands


def test_unit_file_text_reads_systemctl_cat_warning() -> None:
    item = Item(source="systemd.cat:a.service", kind="command", stdout=(
        "# /etc/systemd/system/a.service\n[Service]\nExecStart=/usr/bin/true\n"),
        stderr="# Warning: a.service changed on disk, the version systemd has loaded is "
        "outdated.\n# Run 'systemctl daemon-reload' to reload units.\n")
    f = unit_file_text(item)
    assert f is not None and f.exec_start == ("/usr/bin/true",)
    assert f.warnings[-1] == "Run 'systemctl daemon-reload' to reload units."


def test_denied_paths_and_path_stat(tmp_path: Path) -> None:
    secret = tmp_path / "logs" / "app.log"
    secret.parent.mkdir(mode=0o700)
    journal = json.dumps({"MESSAGE": f"PermissionError: [Errno 13] Permission denied: '{secret}'"})
    items = [{"source": "journal.unit:a.service", "stdout": journal},
             {"source": "python.import:a.service", "stderr": "PermissionError: [Errno 13] "
              "Permission denied: '/srv/x/main.py'\n"},
             {"source": "nginx.error_log:/e", "stdout": "Permission denied: '/not/ours'"}]
    assert files.denied_paths(items) == ["/srv/x/main.py", str(secret)]
    chain = files.path_stat("fs.stat:x", str(secret))["data"]["chain"]
    assert chain[0] == {"path": str(secret), "exists": False}
    assert chain[1]["path"] == str(secret.parent) and chain[1]["mode"] & 0o777 == 0o700
    assert chain[-1]["path"] == "/"
