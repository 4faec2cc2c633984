"""supervisord: reading its config (includes, env KEYS only), its status and logs as facts."""

from __future__ import annotations

import json
from pathlib import Path

from gatewaydoctor.agent import supervisor
from gatewaydoctor.evidence import load
from gatewaydoctor.parse import build_facts
from gatewaydoctor.rules import all_rules, run_rules

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "tests" / "data" / "lab"


def test_config_with_includes_records_environment_keys_only(tmp_path: Path) -> None:
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    main = tmp_path / "supervisord.conf"
    main.write_text(
        "[supervisord]\nlogfile=%(here)s/supervisord.log ; main log\n"
        "[include]\nfiles = conf.d/*.conf\n")
    (conf_d / "api.conf").write_text(
        "[program:api]\n"
        "command=/srv/venv/bin/gunicorn -k uvicorn.workers.UvicornWorker -b 127.0.0.1:9000 "
        "main:app\n"
        "directory=/srv/api\nuser=www-data\n"
        'environment=SECRET_KEY="s3cr3t-value",DEBUG=0\n'
        "stderr_logfile=/var/log/supervisor/%(program_name)s.err.log\n")
    (conf_d / "worker.conf").write_text("[program:worker]\ncommand=/usr/bin/python3 work.py\n")
    item, programs = supervisor.read_config("supervisor.config", str(main))
    data = item["data"]
    assert data["files"] == [str(main), str(conf_d / "api.conf"), str(conf_d / "worker.conf")]
    assert data["logfile"] == f"{tmp_path}/supervisord.log"
    api = next(p for p in data["programs"] if p["name"] == "api")
    assert api["environment_keys"] == ["SECRET_KEY", "DEBUG"]
    assert api["stderr_logfile"] == "/var/log/supervisor/api.err.log"
    assert "s3cr3t-value" not in json.dumps(item)
    # Only the web program is probed; its environment goes to the probe, not the evidence.
    assert [name for name, _props in programs] == ["api"]
    props = programs[0][1]
    assert props["WorkingDirectory"] == "/srv/api" and props["User"] == "www-data"
    assert "SECRET_KEY=s3cr3t-value" in props["Environment"]
    sources = dict(supervisor.log_paths(item))
    assert sources["supervisor.log"] == f"{tmp_path}/supervisord.log"
    assert sources["supervisor.stderr:api"] == "/var/log/supervisor/api.err.log"
    assert "supervisor.stderr:worker" not in sources


def test_missing_config_is_a_failure_not_a_crash(tmp_path: Path) -> None:
    item, programs = supervisor.read_config("supervisor.config", str(tmp_path / "none.conf"))
    assert item["error_kind"] == "missing" and programs == []


def test_environment_syntax() -> None:
    assert supervisor.parse_environment('A="1,2",B=two, C=\'x\'') == [
        ("A", "1,2"), ("B", "two"), ("C", "x")]


def test_config_path_from_the_running_supervisord() -> None:
    procs = [{"cmdline": ["/usr/bin/python3", "/usr/bin/supervisord", "-n", "-c",
                          "/srv/sup.conf"]}]
    assert supervisor.supervisord_config(procs) == ("/srv/sup.conf", True)


def test_fatal_program_is_a_unit_with_its_log_traceback() -> None:
    facts = build_facts(load(LAB / "supervisor-relative-import.json"))
    assert facts.supervisor is not None
    (program,) = facts.supervisor.programs
    assert (program.name, program.state, program.user) == ("fastapi-backend", "FATAL", "app")
    assert any("gave up: fastapi-backend entered FATAL state" in e.message
               for e in program.events)
    unit = facts.unit("supervisor:fastapi-backend")
    assert unit is not None and unit.active_state == "failed" and unit.server == "uvicorn"
    # The stopped, disabled systemd unit the program replaced is left out.
    assert facts.unit("fastapi-backend.service") is None
    logged = [t for t in facts.tracebacks_of("supervisor:fastapi-backend")
              if t.origin == "journal"]
    assert logged and logged[-1].source.startswith("/var/log/supervisor/fastapi-backend.err.log:")


def test_app_rules_fire_for_a_supervisor_program_with_supervisorctl_fixes() -> None:
    run = run_rules(build_facts(load(LAB / "supervisor-relative-import.json")), all_rules())
    rel = next(f for f in run.findings if f.category == "app.relative_import")
    assert rel.links[0].value == "supervisor:fastapi-backend"
    assert "supervisorctl restart fastapi-backend" in rel.fix.commands
    assert not any(c.startswith("systemctl") for c in rel.fix.commands)
    assert not any(f.rule == "GD-SVC-001" for f in run.findings)


def test_auto_logs_are_found_in_childlogdir(tmp_path: Path) -> None:
    main = tmp_path / "supervisord.conf"
    main.write_text(f"[supervisord]\nchildlogdir={tmp_path}\n"
                    "[program:api]\ncommand=/srv/venv/bin/uvicorn main:app\n")
    (tmp_path / "api-stderr---supervisor-x1y2z3.log").write_text("Traceback\n")
    item, _programs = supervisor.read_config("supervisor.config", str(main))
    sources = dict(supervisor.log_paths(item))
    assert sources["supervisor.stderr:api"] == f"{tmp_path}/api-stderr---supervisor-x1y2z3.log"
    assert "supervisor.stdout:api" not in sources
