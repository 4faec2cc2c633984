"""Every fault family on every stack (lab/gdlab/families.py × lab/gdlab/stacks/): the real
CLI, run inside the booted stack, names the family's category first, and a healthy stack —
with the URL, without one, with a name the server cannot resolve — is healthy, no warning.

Pairs a family cannot apply to are not tests (the bench prints them with the reason).
"""

from __future__ import annotations

import os
import sys

import pytest
from gdlab.matrix import pairs, run_cell

# Misses not fixed yet, each with why: they must fail (strict), so a fix shows up here.
KNOWN: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize(("stack", "family"),
                         [pytest.param(s, f, id=f"{s}:{f}",
                                       marks=[pytest.mark.xfail(reason=KNOWN[s, f], strict=True)]
                                       if (s, f) in KNOWN else [])
                          for s, f, reason in pairs() if reason is None])
def test_family_on_stack(stack: str, family: str) -> None:
    cell = run_cell(stack, family, [sys.executable, "-m", "gatewaydoctor"])
    assert cell.found == cell.expected, (cell.found, [
        (c["category"], c["title"]) for c in cell.report.get("causes", [])][:4])
    assert cell.exit_code == (0 if cell.expected == "healthy" else 1)
    # The lab leaves the host as it found it: the mount points a stack made (/www, /opt/edge)
    # are gone with it.
    assert [p for p in cell.made if os.path.exists(p)] == []
