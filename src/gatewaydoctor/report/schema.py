"""The published JSON Schema (draft 2020-12) of the `--json` report, `gatewaydoctor.report/1`.

`build()` derives it from the code's vocabularies (categories, layers, link kinds,
severities); `report.schema.json` beside this module is the published copy that
`gatewaydoctor schema` prints. A unit test keeps the two identical; regenerate with
`python -m gatewaydoctor.report.schema --write`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .. import packaged
from ..categories import CATEGORIES
from ..findings import LAYERS, LINK_KINDS, Severity

SCHEMA_ID = "https://gatewaydoctor.invalid/schemas/report-1.schema.json"
SCHEMA_FILE = Path(__file__).with_name("report.schema.json")
DRAFT = "https://json-schema.org/draft/2020-12/schema"

HOP_STATUSES = ("ok", "failed", "unknown")
COVERAGE_STATUSES = ("ok", "missing", "skipped")
VERDICTS = ("healthy", "degraded", "broken")


def _obj(props: dict[str, Any], *, required: list[str] | None = None,
         description: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object"}
    if description:
        out["description"] = description
    out["properties"] = props
    out["required"] = sorted(props) if required is None else required
    out["additionalProperties"] = False
    return out


def _str(description: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string", **extra}
    if description:
        out["description"] = description
    return out


def _array(ref: str, description: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "array", "items": {"$ref": ref}}
    if description:
        out["description"] = description
    return out


def build() -> dict[str, Any]:
    """The schema as a dict, from the code's current vocabularies."""
    defs: dict[str, Any] = {
        "excerpt": _obj(
            {"source": _str("where it came from: a command, `file:line`, a unit property, "
                            "a probe"),
             "text": _str("the exact line")},
            description="One line of evidence and where it came from."),
        "finding": _obj({
            "rule": _str("stable rule ID", pattern=r"^GD-[A-Z]+-[0-9]{3}$"),
            "symbol": _str("stable rule symbol", pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$"),
            "category": {"$ref": "#/$defs/category"},
            "severity": {"enum": [s.value for s in Severity]},
            "role": {"enum": ["root_cause", "symptom"]},
            "layer": {"enum": list(LAYERS)},
            "title": _str(minLength=1),
            "evidence": _array("#/$defs/excerpt"),
            "explanation": _str(),
            "fix": _obj({"summary": _str(),
                         "commands": {"type": "array", "items": {"type": "string"}}}),
            "links": {"type": "array", "items": _obj({"kind": {"enum": list(LINK_KINDS)},
                                                      "value": _str()})},
        }, description="What one rule found."),
        "category": {"description": "The category vocabulary (gatewaydoctor.categories).",
                     "enum": list(CATEGORIES)},
        "hop": _obj({
            "layer": {"enum": list(LINK_KINDS)},
            "name": _str(),
            "status": {"enum": list(HOP_STATUSES)},
            "detail": _str(),
            "evidence": _array("#/$defs/excerpt"),
            "findings": {"type": "array", "items": _str("a rule ID about this hop")},
        }),
        "chain": _obj({"request": _str(), "hops": _array("#/$defs/hop")},
                      description="One request path through the layers, outside in."),
        "coverage": _obj({"area": _str(), "status": {"enum": list(COVERAGE_STATUSES)},
                          "detail": _str()}),
        "skipped": _obj({"rule": _str(), "symbol": _str(), "reason": _str()}),
    }
    props: dict[str, Any] = {
        "schema": {"const": "gatewaydoctor.report/1"},
        "tool_version": _str(),
        "host": _str(),
        "target_url": {"type": ["string", "null"]},
        "taken_at": _str("when the evidence was gathered"),
        "offline": {"type": ["string", "null"],
                    "description": "where replayed evidence came from; null when live"},
        "verdict": {"enum": list(VERDICTS)},
        "conclusive": {"type": "boolean"},
        "summary": _str(),
        "notes": {"type": "array", "items": {"type": "string"},
                  "description": "what the reader should know that is no finding (the URL's "
                                 "name not leading to this host)"},
        "causes": _array("#/$defs/finding", "ranked, most likely root cause first"),
        "findings": _array("#/$defs/finding", "everything noticed, ranked"),
        "chain": _array("#/$defs/chain"),
        "coverage": _array("#/$defs/coverage", "what could and could not be looked at"),
        "not_evaluated": _array("#/$defs/skipped", "rules whose facts were not gathered"),
        "errors": _array("#/$defs/skipped", "rules that raised"),
    }
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "gatewaydoctor report (gatewaydoctor diagnose --json)",
        "description": "Exit status: 0 healthy, 1 problems found, 2 usage or internal error.",
        **_obj(props),
        "$defs": defs,
    }
    return schema


def text() -> str:
    """The published schema, as `gatewaydoctor schema` prints it."""
    return packaged.read_bytes(SCHEMA_FILE).decode("utf-8")  # in the zip, in the .pyz


def load() -> dict[str, Any]:
    """The published schema as a dict."""
    result: dict[str, Any] = json.loads(text())
    return result


def dumps(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    if sys.argv[1:] == ["--write"]:
        SCHEMA_FILE.write_text(dumps(build()), encoding="utf-8")
    else:
        sys.stdout.write(dumps(build()))
