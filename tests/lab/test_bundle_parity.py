"""A bundle taken in the lab is diagnosed offline exactly like the live host it came from.

For each scenario: inject the fault for real, run `diagnose --json` live, then
`bundle` and `diagnose --from` on that bundle inside the same lab, and compare. The
comparison is live against bundle (not against the scenario's expected category), so
it holds whatever the rules say today.
"""

from __future__ import annotations

import json
import tarfile

import pytest
from gdlab import stop_stack
from gdlab.scenarios import SCENARIOS
from labtools import boot, diagnose_json, run_doctor

PARITY = ("healthy", "relative-import", "db-down-health", "upstream-mismatch",
          "rate-limit-docs")
OUT = "/srv/gd-bundles"  # inside the lab; the host sees it under stack.stage/srv


def _causes(report: dict[str, object]) -> list[tuple[str, str]]:
    """Root causes only: a crash loop's symptoms change from one second to the next."""
    return [(c["category"], c["rule"]) for c in report["causes"]  # type: ignore[index,union-attr]
            if c["role"] == "cause"]  # type: ignore[index]


@pytest.mark.parametrize("name", PARITY)
def test_bundle_diagnosis_equals_live(name: str) -> None:
    scenario = SCENARIOS[name]
    stack = boot(scenario.variant)
    try:
        scenario.inject(stack)
        url = stack.url(scenario.path)
        code_live, live = diagnose_json(stack, url)
        stack.lab.run(["mkdir", "-p", OUT], check=True)
        path = f"{OUT}/{name}.tar.gz"
        code_b, out, err = run_doctor(stack, "bundle", url, "-o", path)
        assert code_b == 0, err
        assert out.strip() == path and "wrote" in err
        code_off, offline = diagnose_json(stack, "--from", path)
        host_copy = stack.stage / "srv" / "gd-bundles" / f"{name}.tar.gz"
        with tarfile.open(host_copy) as tar:
            manifest = json.load(tar.extractfile(f"{name}/manifest.json"))  # type: ignore[arg-type]
    finally:
        stop_stack(stack)

    assert offline["offline"] == f"the bundle {path}" and live["offline"] is None
    assert offline["taken_at"] and offline["host"] == live["host"]
    assert (code_off, offline["verdict"]) == (code_live, live["verdict"])
    if live["causes"]:
        assert offline["causes"][0]["category"] == live["causes"][0]["category"]
    assert _causes(offline) == _causes(live)
    assert manifest["host"] == "gdlab" and manifest["target_url"] == url
    assert manifest["windows"]["journal_lines"] > 0
    assert len(manifest["sources"]) > 20


def test_default_name_and_windows() -> None:
    """No -o: the default name lands in the working directory; --max-log-lines narrows logs."""
    stack = boot()
    try:
        proc = stack.lab.run(["/bin/sh", "-c", f"mkdir -p {OUT} && cd {OUT} && exec \"$0\" -m "
                              "gatewaydoctor bundle --no-exec --max-log-lines 7 --window 2h",
                              _python()], timeout=60)
        assert proc.returncode == 0, proc.stderr
        written = proc.stdout.strip()
        assert written.startswith("gatewaydoctor-gdlab-") and written.endswith("Z.tar.gz")
        with tarfile.open(stack.stage / "srv" / "gd-bundles" / written) as tar:
            top = written.removesuffix(".tar.gz")
            manifest = json.load(tar.extractfile(f"{top}/manifest.json"))  # type: ignore[arg-type]
            evidence = json.load(tar.extractfile(f"{top}/evidence.json"))  # type: ignore[arg-type]
    finally:
        stop_stack(stack)
    windows = manifest["windows"]
    assert windows["journal_lines"] == 7 and windows["journal_since"] == "-2h"
    assert manifest["options"]["no_exec"] is True
    for key, item in evidence["items"].items():
        if key.startswith("journal.unit:"):
            assert len((item["stdout"] or "").splitlines()) <= 7
            assert item["argv"][-1] == "-2h"


def _python() -> str:
    import sys

    return sys.executable
