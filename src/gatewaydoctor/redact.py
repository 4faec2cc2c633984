"""The one redactor: every output path (JSON, terminal, evidence files, errors) goes through it."""

from __future__ import annotations

import re
from typing import Any

MASK = "***"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # postgresql://user:SECRET@host/db, redis://:SECRET@host
    (re.compile(r"(\b[a-zA-Z][\w+.-]*://[^:/@\s'\"]*:)([^@\s'\"/]+)(@)"), r"\1" + MASK + r"\3"),
    # Authorization: Bearer x, Cookie: a=b (headers, also in curl -v output)
    (re.compile(r"(?i)\b(proxy-authorization|authorization|cookie|set-cookie|x-api-key|"
                r"x-auth-token)(\s*[:=]\s*)([^\r\n]+)"), r"\1\2" + MASK),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + MASK),
    # PASSWORD=x, "secret_key": "x", api_token: x
    (re.compile(r"(?i)\b([A-Z0-9_.-]*(?:PASSWORD|PASSWD|PWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|"
                r"ACCESS_?KEY|CREDENTIALS?)[A-Z0-9_.-]*)(['\"]?\s*[=:]\s*)"
                r"(\"[^\"]*\"|'[^']*'|[^\s\"',;&]+)"), r"\1\2" + MASK),
    # ?token=x&password=y in URLs
    (re.compile(r"(?i)([?&](?:token|access_token|api_key|apikey|key|password|secret|sig)=)"
                r"[^&\s\"']+"), r"\1" + MASK),
)


def redact(text: str) -> str:
    """Mask passwords, tokens and secret-looking values in text."""
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def redact_obj(obj: Any) -> Any:
    """Redact every string inside a JSON-like structure (keys are kept as they are)."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v) for v in obj]
    return obj
