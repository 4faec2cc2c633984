"""nginx error.log and access.log lines (signatures.md §0)."""

from __future__ import annotations

import re

from ..evidence import Item
from ..facts import AccessLogEntry, ErrorLogEntry

ERROR_RE = re.compile(
    r'^(\S+ \S+) \[(\w+)\] (\d+)#(\d+): (?:\*(\d+) )?(.*?)(?: while ([^,]+))?'
    r'(?:, client: ([^,]+))?(?:, server: ([^,]*))?(?:, request: "([^"]*)")?'
    r'(?:, upstream: "([^"]*)")?(?:, host: "([^"]*)")?(?:, referrer: "[^"]*")?$'
)
# When a line has trailing fields the full pattern does not know, keep the envelope.
ENVELOPE_RE = re.compile(r"^(\S+ \S+) \[(\w+)\] (\d+)#(\d+): (?:\*(\d+) )?(.*)$")
ACCESS_RE = re.compile(
    r'^(\S+) \S+ (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-) '
    r'"((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"'
)


def where(item: Item, index: int, count: int) -> str:
    """`path:line` when the whole file was read, else how far from its end the line is."""
    path = item.path or item.subject
    if not item.offset:
        return f"{path}:{index + 1}"
    return f"{path} ({count - index} lines before the end)"


def error_entries(item: Item) -> list[ErrorLogEntry]:
    """Parse the lines of an error.log tail; lines that do not match are skipped."""
    lines = (item.stdout or "").splitlines()
    out = []
    for i, line in enumerate(lines):
        m = ERROR_RE.match(line)
        if m:
            (ts, level, pid, _tid, cid, msg, action, client, server, request, upstream,
             host) = m.groups()
        else:
            env = ENVELOPE_RE.match(line)
            if not env:
                continue
            ts, level, pid, _tid, cid, msg = env.groups()
            action = client = server = request = upstream = host = None
        out.append(ErrorLogEntry(
            time=ts, level=level, pid=int(pid), cid=int(cid) if cid else None, message=msg,
            action=action, client=client, server=server, request=request, upstream=upstream,
            host=host, where=where(item, i, len(lines)), raw=line,
        ))
    return out


def access_entries(item: Item) -> list[AccessLogEntry]:
    """Parse the lines of an access.log tail in the `combined` format."""
    lines = (item.stdout or "").splitlines()
    out = []
    for i, line in enumerate(lines):
        m = ACCESS_RE.match(line)
        if not m:
            continue
        remote, _user, ts, request, status, size, referer, agent = m.groups()
        out.append(AccessLogEntry(
            remote=remote, time=ts, request=request, status=int(status),
            body_bytes=0 if size == "-" else int(size), referer=referer, agent=agent,
            where=where(item, i, len(lines)), raw=line,
        ))
    return out
