"""Every lab scenario: inject the fault for real, run the real CLI in the lab, check the cause."""

from __future__ import annotations

import pytest
from gdlab import stop_stack
from gdlab.scenarios import SCENARIOS
from labtools import boot, diagnose_json, run_doctor

ORDER_OF_SEVERITY = ("info", "warning", "error", "critical")


def _host_mount_points() -> list[str]:
    with open("/proc/self/mountinfo") as fh:
        return sorted(line.split(" ")[4] for line in fh)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_is_diagnosed(name: str) -> None:
    scenario = SCENARIOS[name]
    host_mounts = _host_mount_points()
    stack = boot(scenario.variant)
    try:
        scenario.inject(stack)
        # What the browser sees, through nginx.
        assert stack.curl_status(scenario.path) == scenario.status
        code, report = diagnose_json(stack, stack.url(scenario.path))
    finally:
        stop_stack(stack)
    # Injecting a fault (netns, veth, tmpfs, units...) must leave no mount on the host.
    assert _host_mount_points() == host_mounts

    assert report["schema"] == "gatewaydoctor.report/1"
    if scenario.category is None:
        assert report["verdict"] == "healthy", report
        assert code == 0
        loud = [f for f in report["findings"]
                if ORDER_OF_SEVERITY.index(f["severity"]) >= ORDER_OF_SEVERITY.index("warning")]
        assert loud == []
        return
    assert code == 1
    assert report["verdict"] == "broken"
    top = report["causes"][0]
    assert top["category"] == scenario.category, [c["category"] for c in report["causes"]]
    evidence = "\n".join(e["text"] for e in top["evidence"])
    for text in scenario.decisive:
        assert text in evidence, top["evidence"]
    assert top["fix"]["summary"]


def test_relative_import_chain_evidence_and_fix() -> None:
    """The first slice in full: chain, both log lines, both fixes."""
    stack = boot()
    try:
        SCENARIOS["relative-import"].inject(stack)
        code, report = diagnose_json(stack, stack.url("/api/health"))
    finally:
        stop_stack(stack)
    assert code == 1
    top = report["causes"][0]
    assert top["category"] == "app.relative_import"
    texts = [e["text"] for c in report["causes"] for e in c["evidence"]]
    joined = "\n".join(texts)
    assert "ImportError: attempted relative import with no known parent package" in joined
    assert "connect() failed (111: Connection refused) while connecting to upstream" in joined
    # The chain follows the request: URL -> location -> upstream -> listener -> unit -> log line.
    chain = " ".join(str(step) for step in report["chain"]).lower()
    for link in ("/api/", "127.0.0.1:8000", "fastapi-backend.service"):
        assert link.lower() in chain, report["chain"]
    fix = top["fix"]["summary"] + "\n" + "\n".join(top["fix"]["commands"])
    assert "from config import" in fix
    assert "backend.main:app" in fix


def test_import_probe_can_be_switched_off() -> None:
    """With --no-exec and the traceback rotated away, the doctor must not claim the import cause."""
    stack = boot()
    try:
        SCENARIOS["relative-import-rotated"].inject(stack)
        code, report = diagnose_json(stack, stack.url("/api/health"), "--no-exec")
    finally:
        stop_stack(stack)
    assert code == 1
    assert report["verdict"] == "broken"
    assert all(c["category"] != "app.relative_import" for c in report["causes"])


def test_diagnosis_runs_without_url_and_prints_a_terminal_report() -> None:
    stack = boot()
    try:
        SCENARIOS["relative-import"].inject(stack)
        code, out, err = run_doctor(stack, "diagnose")
    finally:
        stop_stack(stack)
    assert code == 1
    assert "relative import" in out.lower()
    assert "Traceback" not in err
