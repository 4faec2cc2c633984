"""journald's records as `journalctl -o json` prints them: one JSON object per line."""

import json
import re
from typing import Any, Dict, Iterator

# The fields the diagnosis reads (and a reader of the bundle wants), which the agent asks
# for with --output-fields; -o json adds the cursor, timestamps and boot id. A whole record
# is ~1 KiB of mostly metadata (_CMDLINE, _EXE, cgroup, capabilities), so this keeps bundles
# 2-3x smaller, cuts the redaction work accordingly, and keeps command lines (which may hold
# secrets) out.
FIELDS = "MESSAGE,PRIORITY,_PID,SYSLOG_IDENTIFIER,_COMM,_SYSTEMD_UNIT,_TRANSPORT"
# What -o json adds to every record whatever --output-fields says, and nothing reads: half
# of each record's bytes (the cursor alone is ~170). Their values are hex and digits, never
# a quote or a backslash; inside a JSON string value a quote is escaped, so these never
# match within one. (__REALTIME_TIMESTAMP is kept: it dates the lines.)
_NOISE_FIELD = r'"(?:__CURSOR|__MONOTONIC_TIMESTAMP|_BOOT_ID)":"[^"\\]*"'
NOISE = re.compile("," + _NOISE_FIELD + "|" + _NOISE_FIELD + ",")


def strip_noise(text: str) -> str:
    """Drop the fields no parser reads from `journalctl -o json` output."""
    return NOISE.sub("", text)


def records(text: str) -> Iterator[Dict[str, Any]]:
    """The records of `journalctl -o json` output; lines that are not a JSON object are skipped."""
    for line in text.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            yield rec


def message(value: Any) -> str:
    """A record's MESSAGE as text."""
    # journalctl prints MESSAGE as an array of bytes when it is not valid UTF-8
    # or holds control characters.
    if isinstance(value, list):  # (anything else in the list: replayed evidence, skipped)
        return bytes(b & 0xFF for b in value if isinstance(b, int)).decode("utf-8",
                                                                          errors="replace")
    if value is None:
        return ""
    return str(value)
