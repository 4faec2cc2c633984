"""Run as an ordinary user, the doctor does what it can and says what needs root."""

from __future__ import annotations

import json

from gdlab import stop_stack
from gdlab.scenarios import SCENARIOS
from gdlab.venv import doctor_venv
from labtools import boot


def test_non_root_diagnosis_is_honest_about_what_it_could_not_see() -> None:
    # gatewaydoctor installed in a venv of Debian's python3, which any user may run.
    python = doctor_venv()
    stack = boot()
    try:
        SCENARIOS["relative-import"].inject(stack)
        proc = stack.lab.run(["runuser", "-u", "nobody", "--", str(python), "-m",
                              "gatewaydoctor", "diagnose", stack.url("/api/health"), "--json"],
                             timeout=120)
    finally:
        stop_stack(stack)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["verdict"] == "broken"
    categories = [c["category"] for c in report["causes"]]
    # What it can see as a user: nothing listens where nginx sends /api/.
    assert categories[0] == "upstream.unreachable"
    # What it must not claim: a permission error of `nginx -t` is not a broken config, and
    # a unit list it could not read does not mean no unit runs the app.
    assert "nginx.config_invalid" not in categories
    assert "service.not_running" not in categories
    missing = {c["area"]: c["detail"] for c in report["coverage"] if c["status"] != "ok"}
    assert "run as root" in missing.get("journal", ""), missing
