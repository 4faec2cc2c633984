"""The JSON report: the DESIGN contract `gatewaydoctor.report/1`."""

from __future__ import annotations

import json
from typing import Any

from .. import __version__
from ..diagnose import Diagnosis
from ..findings import Finding
from ..redact import redact_obj

SCHEMA = "gatewaydoctor.report/1"


def finding_dict(f: Finding) -> dict[str, Any]:
    """One finding as the contract spells it."""
    return {
        "rule": f.rule,
        "symbol": f.symbol,
        "category": f.category,
        "severity": f.severity.value,
        "role": "root_cause" if f.role == "cause" else "symptom",
        "layer": f.layer,
        "title": f.title,
        "evidence": [{"source": e.source, "text": e.text} for e in f.evidence],
        "explanation": f.explanation,
        "fix": {"summary": f.fix.summary, "commands": list(f.fix.commands)},
        "links": [{"kind": li.kind, "value": li.value} for li in f.links],
    }


def to_dict(d: Diagnosis) -> dict[str, Any]:
    """The report as a JSON-serialisable dict, redacted."""
    report = {
        "schema": SCHEMA,
        "tool_version": __version__,
        "host": d.host,
        "target_url": d.target_url,
        "taken_at": d.taken_at,
        "offline": d.offline,
        "verdict": d.verdict,
        "conclusive": d.conclusive,
        "summary": d.summary,
        "notes": list(d.notes),
        "causes": [finding_dict(f) for f in d.causes],
        "findings": [finding_dict(f) for f in d.findings],
        "chain": [
            {"request": c.request,
             "hops": [{"layer": h.layer, "name": h.name, "status": h.status, "detail": h.detail,
                       "evidence": [{"source": e.source, "text": e.text} for e in h.evidence],
                       "findings": list(h.findings)} for h in c.hops]}
            for c in d.chains
        ],
        "coverage": [{"area": c.area, "status": c.status, "detail": c.detail}
                     for c in d.coverage],
        "not_evaluated": [{"rule": s.rule, "symbol": s.symbol, "reason": s.reason}
                          for s in d.not_evaluated],
        "errors": [{"rule": s.rule, "symbol": s.symbol, "reason": s.reason} for s in d.errors],
    }
    result: dict[str, Any] = redact_obj(report)
    return result


def render(d: Diagnosis) -> str:
    """The report as indented JSON text."""
    return json.dumps(to_dict(d), indent=2, ensure_ascii=False)
