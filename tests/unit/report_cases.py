"""The real reports of every lab recording, shared by the report tests.

Each recording in tests/data/lab/ is what the agent gathered in a lab where the scenario
of the same name was injected for real; its scenario names the text the top cause's
evidence must hold (the decisive line).
"""

from __future__ import annotations

import argparse
from functools import lru_cache
from pathlib import Path

from gdlab.scenarios import SCENARIOS

from gatewaydoctor.app import Options, run_diagnosis
from gatewaydoctor.diagnose import Diagnosis
from gatewaydoctor.i18n import current_language, set_language
from gatewaydoctor.options import parser

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "tests" / "data" / "lab"
RECORDINGS = sorted(p.stem for p in LAB.glob("*.json"))
FORMATS = ("terminal", "json", "markdown", "html")
LAB_PASSWORD = "S3cretLabPassw0rd"


def path(name: str) -> str:
    return str(LAB / f"{name}.json")


def args(name: str, *more: str) -> argparse.Namespace:
    return parser().parse_args(["diagnose", "--evidence", path(name), *more])


@lru_cache(maxsize=None)
def diagnosis(name: str) -> Diagnosis:
    """The diagnosis of a recording, as `gatewaydoctor diagnose --evidence --lang en` makes it."""
    before = current_language()
    set_language("en")
    try:
        return run_diagnosis(Options(evidence=path(name)))
    finally:
        set_language(before)


def decisive_line(name: str) -> str | None:
    """The top cause's evidence line holding the scenario's decisive text (None: healthy
    or no decisive text declared, then its first evidence line)."""
    d = diagnosis(name)
    if not d.causes:
        return None
    evidence = d.causes[0].evidence
    for want in SCENARIOS[name].decisive:
        for e in evidence:
            if want in e.text:
                return e.text
    return evidence[0].text if evidence else None
