"""The single-file build on a broken server: gatewaydoctor.pyz copied into a lab stack and run
there with the stack's own system interpreter (/usr/bin/python3, nothing installed for it)
names the same cause, from the same evidence, as the installed tool."""

from __future__ import annotations

import shutil
from pathlib import Path

from gdlab import stop_stack
from gdlab.scenarios import SCENARIOS
from labtools import FIX_STATE, as_json, boot, diagnose_json

SYSTEM_PYTHON = "/usr/bin/python3"
IN_LAB = "/srv/gatewaydoctor.pyz"  # the stack's /srv is its stage's srv/ folder
# The file unpacks itself into the user's cache on its first run: the lab's own /run, not the
# host's /root/.cache (the lab shares the host's /root).
ENV = {**FIX_STATE, "XDG_CACHE_HOME": "/run/gatewaydoctor-cache"}


def test_the_pyz_names_the_cause_the_installed_tool_names(pyz: Path) -> None:
    scenario = SCENARIOS["service-stopped"]
    stack = boot(scenario.variant)
    try:
        scenario.inject(stack)
        shutil.copy(pyz, stack.stage / "srv" / "gatewaydoctor.pyz")
        url = stack.url(scenario.path)
        single = stack.lab.run([SYSTEM_PYTHON, IN_LAB, "diagnose", url, "--json"],
                               timeout=120, env=ENV)
        code, report = diagnose_json(stack, url)
        chinese = stack.lab.run([SYSTEM_PYTHON, IN_LAB, "diagnose", url],
                                timeout=120, env={**ENV, "LANG": "zh_CN.UTF-8"})
    finally:
        stop_stack(stack)
    from_pyz = as_json(single.stdout, single.stderr)
    assert (single.returncode, code) == (1, 1), single.stderr[-2000:]
    top = from_pyz["causes"][0]
    assert top["category"] == scenario.category == report["causes"][0]["category"]
    assert [c["rule"] for c in from_pyz["causes"]] == [c["rule"] for c in report["causes"]]
    assert top["evidence"] == report["causes"][0]["evidence"]
    assert from_pyz["verdict"] == report["verdict"] == "broken"
    # Nothing the installed tool looked at is missing from the single file's run.
    assert ([(c["area"], c["status"]) for c in from_pyz["coverage"]]
            == [(c["area"], c["status"]) for c in report["coverage"]])
    assert chinese.returncode == 1 and "故障" in chinese.stdout, chinese.stderr[-2000:]
