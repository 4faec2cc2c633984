"""The nginx and nginx↔backend rules on real lab recordings: evidence, fix, ranking, chain."""

from __future__ import annotations

import dataclasses
import re

from cases import load_case
from conftest import RULE_FIXTURES

from gatewaydoctor.diagnose import Diagnosis, diagnose
from gatewaydoctor.facts import Facts
from gatewaydoctor.findings import Finding
from gatewaydoctor.parse import build_facts
from gatewaydoctor.rules import all_rules, run_rules

RULES = {r.symbol: r for r in all_rules()}


def facts_of(symbol: str, case: str = "fires_lab") -> Facts:
    return build_facts(load_case(RULE_FIXTURES / symbol / f"{case}.json"))


def findings(symbol: str, facts: Facts) -> list[Finding]:
    run = run_rules(facts, [RULES[symbol]])
    assert not run.errors and not run.not_evaluated
    return list(run.findings)


def only(symbol: str, case: str = "fires_lab") -> tuple[Finding, str, str]:
    [f] = findings(symbol, facts_of(symbol, case))
    evidence = "\n".join(f"{e.source} | {e.text}" for e in f.evidence)
    fix = f.fix.summary + "\n" + "\n".join(f.fix.commands)
    return f, evidence, fix


def full(symbol: str, case: str = "fires_lab") -> Diagnosis:
    path = RULE_FIXTURES / symbol / f"{case}.json"
    ev = load_case(path)
    facts = build_facts(ev)
    return diagnose(facts, run_rules(facts, all_rules()))


def test_config_invalid_names_file_line_and_that_nginx_is_down() -> None:
    f, evidence, fix = only("config-invalid")
    assert ('invalid number of arguments in "proxy_pass" directive in '
            "/etc/nginx/sites-enabled/fastapi:11") in evidence
    assert "nothing listens on :80" in evidence
    assert "systemctl restart nginx" in fix
    d = full("config-invalid")
    assert d.causes[0].rule == "GD-NGX-001"
    # nginx not running is the consequence here, not a second cause.
    assert [x.role for x in d.findings if x.rule == "GD-NGX-004"] == ["symptom"]


def test_not_reloaded_compares_mtime_with_worker_start_and_shows_both_ports() -> None:
    f, evidence, fix = only("not-reloaded")
    assert "/etc/nginx/sites-enabled/fastapi modified" in evidence
    assert "proxy_pass http://127.0.0.1:8001" in evidence          # on disk
    assert 'upstream: "http://127.0.0.1:8000/api/health"' in evidence  # what nginx runs
    assert "127.0.0.1:8001/api/health | HTTP 200" in evidence
    assert "nginx -t && systemctl reload nginx" in fix
    assert full("not-reloaded").causes[0].category == "nginx.not_reloaded"


def test_not_reloaded_is_quiet_once_the_workers_are_newer_than_the_files() -> None:
    facts = facts_of("not-reloaded")
    rt = facts.nginx_runtime
    assert rt is not None and rt.loaded_at is not None
    newest = max(f.mtime or 0 for f in rt.files)
    reloaded = dataclasses.replace(rt, processes=tuple(
        dataclasses.replace(p, start_time=newest + 5) if p.role == "worker" else p
        for p in rt.processes))
    assert findings("not-reloaded", dataclasses.replace(facts, nginx_runtime=reloaded)) == []


def test_upstream_mismatch_names_where_the_app_listens() -> None:
    f, evidence, fix = only("upstream-mismatch")
    assert re.search(r"uvicorn \(pid \d+, fastapi-backend\.service\) listens at 0\.0\.0\.0:8001",
                     evidence)
    assert "proxy_pass http://127.0.0.1:8001" in fix
    # It outranks "nothing listens" and the other rules that see a dead :8000.
    assert full("upstream-mismatch").causes[0].category == "nginx.upstream_mismatch"


def test_address_family_shows_the_failed_v6_attempt() -> None:
    f, evidence, fix = only("upstream-address-family")
    assert 'upstream: "http://[::1]:8000/api/health"' in evidence
    assert "the app listens at 127.0.0.1:8000 only; nothing at [::1]:8000" in evidence
    assert "proxy_pass http://127.0.0.1:8000;" in fix


def test_rate_limit_maps_the_url_to_its_location_and_says_nginx_answered() -> None:
    f, evidence, fix = only("rate-limited")
    assert f.title.startswith('nginx rejects /docs with 503: limit_req zone "docs" (rate=1r/m)')
    assert 'limiting requests, excess: ' in evidence and 'by zone "docs"' in evidence
    assert "/etc/nginx/sites-enabled/fastapi:15 | limit_req zone=docs; (in location /docs)" \
        in evidence
    assert "/etc/nginx/conf.d/ratelimit.conf:1 | limit_req_zone" in evidence
    assert "answered by nginx itself" in evidence
    assert "/api/health Host: app.example.test | HTTP 200" in evidence
    assert "burst=" in fix
    d = full("rate-limited")
    [chain] = d.chains
    assert "location /docs" in chain.request
    url = chain.hops[0]
    assert url.layer == "url" and "answered by nginx itself" in url.detail
    assert any(h.layer == "location" and "GD-NGX-007" in h.findings for h in chain.hops)


def test_header_too_big_points_at_the_buffer_setting() -> None:
    f, evidence, fix = only("header-too-big")
    assert "upstream sent too big header" in evidence
    assert "proxy_buffer_size not set: nginx's default 4k" in evidence
    assert "127.0.0.1:8000/api/health | HTTP 200 (Server: uvicorn)" in evidence
    assert "proxy_buffer_size 16k" in fix


def test_upstream_timeout_compares_with_proxy_read_timeout() -> None:
    f, evidence, fix = only("upstream-timeout")
    assert "upstream timed out (110: Connection timed out) while reading response header" \
        in evidence
    assert "/etc/nginx/sites-enabled/fastapi:10 | proxy_read_timeout 2s;" in evidence
    assert "# or edit /etc/nginx/sites-enabled/fastapi:10: proxy_read_timeout 120s;" in fix


def test_gunicorn_worker_timeout_compares_timeouts() -> None:
    f, evidence, fix = only("gunicorn-worker-timeout")
    assert "[CRITICAL] WORKER TIMEOUT (pid:" in evidence
    assert "ExecStart: --timeout 3" in evidence
    assert "upstream prematurely closed connection" in evidence
    assert "shorter than nginx's proxy_read_timeout (60s)" in f.explanation
    assert "--timeout" in fix


def test_socket_permission_shows_modes_and_the_unit_fix() -> None:
    f, evidence, fix = only("socket-permission")
    assert "(13: Permission denied)" in evidence
    assert "nginx workers run as www-data" in evidence
    assert "drwxr-x--- app:app /run/fastapi" in evidence
    assert "www-data lacks search (x) permission on /run/fastapi" in evidence
    assert "RuntimeDirectoryMode" in fix and "systemctl restart fastapi-backend.service" in fix


def test_worker_connections_points_at_the_events_block() -> None:
    f, evidence, fix = only("worker-connections")
    assert "4 worker_connections are not enough" in evidence
    assert "/etc/nginx/nginx.conf:8 | worker_connections 4; (in events)" in evidence
    assert "worker_connections 1024" in fix


def test_an_invalid_configuration_with_a_master_running_is_not_called_down() -> None:
    """nginx -t fails and a port of the broken configuration has no listener; but a master
    still runs on its old configuration, so nginx is not down (a reload keeps it)."""
    from gatewaydoctor.facts import NginxProcess, NginxRuntime

    facts = facts_of("config-invalid")
    [down] = findings("config-invalid", facts)
    assert "as it is now" in down.explanation and "systemctl restart nginx" in down.fix.commands
    master = NginxProcess(pid=240, ppid=1, role="master", start_time=None, uid=0, gid=0,
                          groups=())
    runtime = NginxRuntime(source="nginx.runtime", now=None, processes=(master,), files=(),
                           user=None, sockets={})
    [running] = findings("config-invalid", dataclasses.replace(facts, nginx_runtime=runtime))
    assert "as it is now" not in running.explanation
    assert running.fix.commands == ("nginx -t", "systemctl reload nginx")
    assert not any("nginx is down" in e.text for e in running.evidence)
