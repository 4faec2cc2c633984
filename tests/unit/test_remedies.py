"""The remedies of the failure modes the lab injects, planned from recorded evidence: the steps
each plan holds and the exact diffs of the files it would change.

A recording is replayed as `fix --evidence FILE` replays it: nginx's files come from its
recorded `nginx -T` dump; a unit file from its recorded `systemctl cat`. The lab
(tests/lab/test_fix_scenarios.py) applies the same plans to real broken stacks.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from gatewaydoctor import app
from gatewaydoctor.agent import dbunits
from gatewaydoctor.agent.runner import new_item
from gatewaydoctor.evidence import Evidence, Item
from gatewaydoctor.facts import DatabaseUnit, Facts
from gatewaydoctor.findings import Finding
from gatewaydoctor.fix.host import Host
from gatewaydoctor.fix.remedies import load
from gatewaydoctor.fix.steps import Command, FileChange, Manual, Plan, Remedy, Step
from gatewaydoctor.formats import sources
from gatewaydoctor.options import Options
from gatewaydoctor.parse import database

LAB = Path(__file__).parents[1] / "data" / "lab"
NGINX = {"nginx_test": "nginx -t", "nginx_reload": "systemctl reload nginx",
         "nginx_start": "systemctl start nginx", "nginx_restart": "systemctl restart nginx"}


def _plan(name: str) -> Plan:
    return app.fix_plan(Options(evidence=str(LAB / f"{name}.json"))).plan


def _first(name: str) -> Remedy:
    return _plan(name).remedies[0]


def _lines(steps: tuple[Step, ...]) -> list[str]:
    return [s.line for s in steps if isinstance(s, Command)]


def _diff(step: Step) -> list[str]:
    """The changed lines of a file step's diff, without the headers."""
    assert isinstance(step, FileChange)
    return [line for line in step.diff().splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def _cause(name: str) -> tuple[Finding, Facts]:
    diagnosis, facts, _ev = app._diagnosed(Options(evidence=str(LAB / f"{name}.json")), None)
    return diagnosis.causes[0], facts


def test_header_too_big_gets_consistent_buffers_in_its_location() -> None:
    r = _first("header-too-big")
    assert r.symbol == "header-too-big" and r.automatic
    change = r.steps[0]
    assert isinstance(change, FileChange) and change.path == "/etc/nginx/sites-enabled/fastapi"
    assert _diff(change) == ["+        proxy_buffer_size 16k;", "+        proxy_buffers 8 16k;",
                             "+        proxy_busy_buffers_size 32k;"]
    # added inside `location /api/ {`, the location whose answers nginx refused
    text = change.text.decode() if change.text else ""
    assert "location /api/ {\n        proxy_buffer_size 16k;" in text
    assert _lines(r.steps) == ["nginx -t", "systemctl reload nginx"]


@pytest.mark.parametrize("k", [16, 32, 64])
def test_buffer_sizes_obey_nginx_rules(k: int) -> None:
    """nginx -t refuses proxy_busy_buffers_size below the larger of proxy_buffer_size and one
    proxy_buffers buffer, and not less than all buffers but one."""
    load()  # every remedy registered first (importing one module alone would stop that)
    from gatewaydoctor.fix.remedies.header_buffers import buffer_lines

    said = buffer_lines("proxy", k)
    size = int(re.findall(r"(\d+)k", said["proxy_buffer_size"])[0])
    count, one = map(int, re.findall(r"(\d+)k?", said["proxy_buffers"].split(None, 1)[1]))
    busy = int(re.findall(r"(\d+)k", said["proxy_busy_buffers_size"])[0])
    assert busy >= max(size, one) and busy < (count - 1) * one


def test_rate_limit_on_docs_takes_a_burst_where_it_is_set() -> None:
    r = _first("rate-limit-docs")
    assert r.symbol == "rate-limited" and r.automatic
    assert _diff(r.steps[0]) == ["-        limit_req zone=docs;",
                                 "+        limit_req zone=docs burst=20 nodelay;"]
    assert _lines(r.steps) == ["nginx -t", "systemctl reload nginx"]


def test_worker_connections_are_raised_to_nginx_usual() -> None:
    r = _first("worker-connections")
    assert r.symbol == "worker-connections" and r.automatic
    change = r.steps[0]
    assert isinstance(change, FileChange) and change.path == "/etc/nginx/nginx.conf"
    assert _diff(change) == ["-\tworker_connections 4;", "+\tworker_connections 1024;"]


def test_port_conflict_names_the_holder_and_is_left_to_a_person() -> None:
    r = _first("port-conflict")
    assert not r.automatic
    step = r.steps[0]
    assert isinstance(step, Manual)
    assert "pid 256" in step.text and "debug-server.service" in step.text
    assert step.commands == ("ss -ltnp 'sport = :8000'", "systemctl stop debug-server.service",
                             "systemctl disable debug-server.service",
                             "systemctl restart fastapi-backend.service")


def _fragment(facts: Facts, unit: str) -> tuple[str, str]:
    """The unit's file as its recorded `systemctl cat` holds it: (path, text)."""
    cat = next(u for u in facts.unit_files or () if u.unit == unit)
    m = re.match(r"# (\S+)\n(.*?)(?=\n# /|\Z)", cat.text, re.S)
    assert m, cat.text
    return m.group(1), m.group(2).rstrip("\n") + "\n"


def test_gunicorn_timeout_is_raised_in_the_unit_file_systemd_loaded() -> None:
    cause, facts = _cause("gunicorn-worker-timeout")
    path, text = _fragment(facts, "fastapi-backend.service")
    assert path == "/etc/systemd/system/fastapi-backend.service"
    host = Host(False, NGINX, {path: text})
    steps = load()["gunicorn-worker-timeout"].steps(cause, facts, host)
    change = steps[0]
    assert isinstance(change, FileChange) and change.path == path
    old, new = _diff(change)
    assert "--timeout 3" in old and new == "+" + old[1:].replace("--timeout 3", "--timeout 120")
    assert _lines(tuple(steps)) == ["systemctl daemon-reload",
                                    "systemctl restart fastapi-backend.service"]
    restart = steps[-1]
    assert isinstance(restart, Command) and restart.undo == (
        "systemctl daemon-reload && systemctl restart fastapi-backend.service")


def test_gunicorn_timeout_of_a_packaged_unit_is_a_drop_in_for_a_person() -> None:
    cause, facts = _cause("gunicorn-worker-timeout")
    unit = facts.unit("fastapi-backend.service")
    assert unit is not None
    packaged = replace(facts, units=tuple(
        replace(u, fragment_path="/usr/lib/systemd/system/fastapi-backend.service")
        if u.name == unit.name else u for u in facts.units or ()))
    steps = load()["gunicorn-worker-timeout"].steps(cause, packaged, Host(False, NGINX))
    assert len(steps) == 1 and isinstance(steps[0], Manual)
    assert "systemctl edit fastapi-backend.service" in steps[0].commands


def test_gunicorn_timeout_added_where_exec_start_has_none() -> None:
    cause, facts = _cause("gunicorn-worker-timeout")
    path, text = _fragment(facts, "fastapi-backend.service")
    bare = re.sub(r" --timeout \d+", "", text)
    steps = load()["gunicorn-worker-timeout"].steps(cause, facts, Host(False, NGINX,
                                                                       {path: bare}))
    _old, new = _diff(steps[0])
    # the command's last line (it is continued over two)
    assert new == "+    --bind unix:/run/fastapi/gunicorn.sock main:app --timeout 120"


def _db_units(*states: tuple[str, str]) -> tuple[DatabaseUnit, ...]:
    return tuple(DatabaseUnit(name, "fastapi-backend.service", "loaded", active, "dead",
                              "success", "enabled", "", f"systemctl show {name}")
                 for name, active in states)


def test_db_down_starts_the_instance_that_is_stopped_not_its_wrapper() -> None:
    """Debian: postgresql.service stays active (exited) while postgresql@15-main is stopped;
    starting the wrapper would do nothing."""
    cause, facts = _cause("db-down-startup")
    assert cause.symbol == "database-unreachable"
    facts = replace(facts, database_units=_db_units(("postgresql.service", "active"),
                                                    ("postgresql@15-main.service", "inactive")))
    steps = load()["database-unreachable"].steps(cause, facts, Host(False, NGINX))
    assert _lines(tuple(steps)) == ["systemctl start postgresql@15-main.service",
                                    "systemctl restart fastapi-backend.service"]
    assert isinstance(steps[0], Command)
    assert steps[0].undo == "systemctl stop postgresql@15-main.service"


def test_db_down_resets_a_failed_unit_and_starts_every_stopped_one() -> None:
    cause, facts = _cause("db-down-health")
    facts = replace(facts, database_units=_db_units(("postgresql.service", "inactive"),
                                                    ("postgresql@15-main.service", "failed")))
    steps = load()["database-unreachable"].steps(cause, facts, Host(False, NGINX))
    assert _lines(tuple(steps)) == [
        "systemctl reset-failed postgresql@15-main.service",
        "systemctl start postgresql.service postgresql@15-main.service",
        "systemctl restart fastapi-backend.service"]


def test_db_down_without_its_units_stays_the_rules_manual_step() -> None:
    """A recording made before the agent gathered the database's units, or a database that
    runs (and refuses for another reason): nothing to start, the report's fix is the step."""
    plan = _plan("db-down-startup")
    r = plan.remedies[0]
    assert r.symbol == "database-unreachable" and not r.automatic
    cause, facts = _cause("db-down-startup")
    running = replace(facts, database_units=_db_units(("postgresql.service", "active")))
    assert load()["database-unreachable"].steps(cause, running, Host(False, NGINX)) == []


@pytest.mark.parametrize(("scheme", "host", "wanted"), [
    ("postgresql", "127.0.0.1", ("postgresql*",)),
    ("postgresql+asyncpg", "localhost", ("postgresql*",)),
    ("postgres", "/var/run/postgresql", ("postgresql*",)),
    ("mysql", None, ("mysql*", "mariadb*")),
    ("redis", "::1", ("redis*",)),
    ("postgresql", "db.internal", ()),  # another host's server is not one of our units
    ("sqlite", "localhost", ()),
])
def test_database_units_are_looked_for_only_for_a_local_server(
        scheme: str, host: str | None, wanted: tuple[str, ...]) -> None:
    assert dbunits.patterns(scheme, host) == wanted


def test_database_units_are_parsed_once_each() -> None:
    data = {"unit": "api.service", "patterns": ["postgresql*"], "units": [
                {"Id": "postgresql.service", "LoadState": "loaded", "ActiveState": "active",
                 "SubState": "exited", "Result": "success", "UnitFileState": "enabled",
                 "Description": "PostgreSQL RDBMS"},
                {"Id": "postgresql@15-main.service", "LoadState": "loaded",
                 "ActiveState": "failed", "SubState": "failed", "Result": "exit-code",
                 "UnitFileState": "enabled-runtime", "Description": "PostgreSQL Cluster"}]}
    raw = new_item(sources.db_server_units("api.service"), "listing", data=data)
    ev = Evidence("h", "", "", None, {raw["source"]: Item.from_dict(raw)})
    got = database.server_units(ev)
    assert got is not None
    assert [(u.name, u.stopped) for u in got] == [("postgresql.service", False),
                                                   ("postgresql@15-main.service", True)]
    assert got[1].app == "api.service"


MAIN = "import os\n\nimport psycopg2\nfrom .config import settings\n\napp = None\n"


@pytest.mark.parametrize("with_code", [False, True])
def test_relative_import_is_a_patch_applied_only_with_code(with_code: bool) -> None:
    """The traceback's line made absolute: shown as a patch to review, carried out (with the
    service's restart) only under `fix --with-code`."""
    cause, facts = _cause("relative-import")
    host = Host(False, NGINX, {"/srv/app/backend/main.py": MAIN}, with_code=with_code)
    steps = load()["relative-import"].steps(cause, facts, host)
    if not with_code:
        assert len(steps) == 1 and isinstance(steps[0], Manual)
        assert "--with-code" in steps[0].text
        assert "-from .config import settings\n+from config import settings" in steps[0].text
        return
    change, restart = steps
    assert isinstance(change, FileChange) and change.path == "/srv/app/backend/main.py"
    assert _diff(change) == ["-from .config import settings", "+from config import settings"]
    assert isinstance(restart, Command)
    assert restart.line == "systemctl restart fastapi-backend.service"


def test_relative_import_from_a_recording_keeps_the_reports_two_ways() -> None:
    """Without the code file (a recording holds none) the plan is the report's own fix."""
    r = _first("relative-import")
    assert not r.automatic and isinstance(r.steps[0], Manual)
    assert "backend.main:app" in r.steps[0].text + "\n".join(r.steps[0].commands)


def test_a_directory_is_given_to_the_services_user_and_taken_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """permission-write: the folder the app writes in becomes its user's; a directory has no
    content to back up, only its mode and owner, which the rollback puts back."""
    from gatewaydoctor.fix import run as runs

    monkeypatch.setenv("GATEWAYDOCTOR_STATE_DIR", str(tmp_path / "state"))
    logs = tmp_path / "logs"
    logs.mkdir(mode=0o755)
    os.chown(logs, 0, 0)
    plan = Plan("h", None, "broken", (Remedy("GD-X", "permission-denied", "c", "t", (
        FileChange(str(logs), "why", mode=0o755, owner=(65534, 65534)),), "v"),))
    run = runs.new_run(plan)
    assert runs.apply(plan, run, [].append)
    st = logs.stat()
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o755, 65534, 65534)
    runs.rollback(runs.Run.load(run.id), [].append)
    st = logs.stat()
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o755, 0, 0)
