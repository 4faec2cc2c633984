"""Helpers for lab tests: boot a stack, run the real CLI inside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from gdlab import Stack, boot_stack, lab_unavailable_reason
from gdlab.stacks import Deployed

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def boot(variant: str = "uvicorn") -> Stack:
    reason = lab_unavailable_reason()
    if reason:
        if IN_CI:
            pytest.fail(f"lab unavailable in CI: {reason}")
        pytest.skip(f"lab unavailable: {reason}")
    return boot_stack(variant)


# Where `fix` keeps its runs inside a lab: the lab's private /run, never the host's /var/lib.
FIX_STATE = {"GATEWAYDOCTOR_STATE_DIR": "/run/gatewaydoctor-fixes"}


def run_doctor(stack: Stack | Deployed, *args: str, timeout: float = 60
               ) -> tuple[int, str, str]:
    """Run the real CLI inside the lab, as the on-call engineer would."""
    proc = stack.lab.run([sys.executable, "-m", "gatewaydoctor", *args], timeout=timeout,
                         env=FIX_STATE)
    return proc.returncode, proc.stdout, proc.stderr


def as_json(out: str, err: str) -> Any:
    """A command's JSON output; an AssertionError showing what it printed instead."""
    try:
        return json.loads(out)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"no JSON: {out[-1500:]!r} {err[-1500:]!r}") from exc


def diagnose_json(stack: Stack, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run_doctor(stack, "diagnose", *args, "--json")
    try:
        report = json.loads(out)
    except json.JSONDecodeError as exc:
        raise AssertionError(
            f"--json printed no JSON (exit {code}): {out[:500]!r} {err[-2000:]}"
        ) from exc
    return code, report


def host_listeners() -> set[str]:
    out = subprocess.run(["ss", "-Htln"], capture_output=True, text=True, check=False).stdout
    return {" ".join(line.split()[3:4]) for line in out.splitlines() if line.strip()}
