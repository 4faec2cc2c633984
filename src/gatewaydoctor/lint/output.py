"""What `gatewaydoctor lint` prints: text in the reader's language (`file:line: ID symbol
[severity] message`, as compilers and flake8 do), JSON, or SARIF 2.1.0 for code-scanning
tools (each rule with a helpUri to its documentation page, each result with its file and
line)."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

from .. import __version__
from ..findings import Severity, severity_label
from ..i18n import _
from .model import LintFinding, LintResult
from .registry import Check

FORMATS = ("text", "json", "sarif")
SCHEMA = "gatewaydoctor.lint/1"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/" \
               "sarif-schema-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def text(result: LintResult) -> str:
    """One line per finding, then a summary line."""
    lines = [f"{f.file}:{f.line}: {f.rule} {f.symbol} [{severity_label(f.severity.value)}] "
             f"{f.message}" for f in result.findings]
    n = len(result.findings)
    files = len(result.files)
    if n:
        lines.append(_("{n} problem(s) found in {files} file(s) read").format(n=n, files=files))
    else:
        lines.append(_("no problem found in {files} file(s) read").format(files=files))
    return "\n".join(lines) + "\n"


def to_json(result: LintResult) -> str:
    """The findings as one JSON object."""
    return json.dumps({"schema": SCHEMA, "files": list(result.files),
                       "findings": [f.to_dict() for f in result.findings],
                       "not_evaluated": [{"symbol": s, "reason": r}
                                         for s, r in result.not_evaluated]},
                      indent=1, ensure_ascii=False) + "\n"


def help_uri(symbol: str) -> str:
    """The rule's documentation page (English), as a file: URI of the installed page: the
    same page `gatewaydoctor explain` prints."""
    from ..ruledocs import path_of

    return path_of(symbol, "en").resolve().as_uri()


def artifact_uri(path: str) -> str:
    """A file's SARIF URI: relative paths stay relative (to the directory lint ran in, as a
    repository's hook gives them), absolute ones become file: URIs."""
    p = Path(path)
    return p.as_uri() if p.is_absolute() else urllib.parse.quote(p.as_posix())


def _rule(c: Check) -> dict[str, Any]:
    from ..ruledocs import title_of

    return {"id": c.id, "name": c.symbol,
            "shortDescription": {"text": title_of(c.symbol, _(c.title) if c.title else
                                                  c.symbol)},
            "helpUri": help_uri(c.symbol),
            "defaultConfiguration": {"level": LEVELS[c.severity]},
            "properties": {"category": c.category}}


def _result(f: LintFinding, index: int) -> dict[str, Any]:
    return {"ruleId": f.rule, "ruleIndex": index, "level": LEVELS[f.severity],
            "message": {"text": f.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": artifact_uri(f.file)},
                "region": {"startLine": max(f.line, 1)}}}],
            "properties": {"symbol": f.symbol, "category": f.category}}


def sarif(result: LintResult, checks: list[Check]) -> str:
    """SARIF 2.1.0: one run, the rules of every check, a result per finding."""
    by_id: dict[str, Check] = {}
    for c in checks:
        by_id.setdefault(c.id, c)
    rules = list(by_id.values())
    index = {c.id: i for i, c in enumerate(rules)}
    run = {"tool": {"driver": {"name": "gatewaydoctor", "version": __version__,
                               "rules": [_rule(c) for c in rules]}},
           "results": [_result(f, index[f.rule]) for f in result.findings]}
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]},
                      indent=1, ensure_ascii=False) + "\n"
