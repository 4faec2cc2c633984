"""Python-side facts: tracebacks, the import probe, interpreter versions, env keys, listings."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..evidence import Item
from ..facts import (
    Accounts,
    DirListing,
    EnvFile,
    FileStat,
    ImportProbe,
    JournalEntry,
    PathOwner,
    PythonInfo,
    Traceback,
)

TB_START = "Traceback (most recent call last):"
_CHAIN = ("The above exception was the direct cause", "During handling of the above exception")
_EXC_RE = re.compile(r"^([A-Za-z_][\w.]*)(?::\s?(.*))?$")


def find_tracebacks(lines: list[str]) -> list[tuple[int, int, str, str]]:
    """Find tracebacks in lines: (first index, last index, exception type, message).

    A chained traceback (`The above exception was ...`) counts as one, ending at
    its last exception line.
    """
    found: list[tuple[int, int, str, str]] = []
    i = 0
    while i < len(lines):
        if TB_START not in lines[i]:
            i += 1
            continue
        start = i
        end = None
        exc = ("", "")
        j = i + 1
        while j < len(lines):
            line = lines[j]
            if not line.strip() or line[:1].isspace() or TB_START in line or \
                    line.startswith(_CHAIN):
                j += 1
                continue
            m = _EXC_RE.match(line)
            if not m:
                break
            end, exc = j, (m.group(1), m.group(2) or "")
            k = j + 1
            while k < len(lines) and not lines[k].strip():
                k += 1
            if k < len(lines) and lines[k].startswith(_CHAIN):
                j = k
                continue
            break
        if end is None:
            i += 1
            continue
        found.append((start, end, exc[0], exc[1]))
        i = end + 1
    return found


_DETAIL_MAX = 30
# A log line of the server (uvicorn `INFO:`, gunicorn `[date] [pid] [LEVEL]`) ends the detail.
_LOG_LINE = re.compile(r"^(?:[A-Z]+:\s|\[\d{4}-)")


def exception_detail(lines: list[str], end: int) -> tuple[str, ...]:
    """The lines an exception printed after its `Type: message` line (pydantic lists fields)."""
    out: list[str] = []
    for line in lines[end + 1:end + 1 + _DETAIL_MAX]:
        if TB_START in line or _LOG_LINE.match(line) or line.startswith(_CHAIN):
            break
        out.append(line)
    while out and not out[-1].strip():
        out.pop()
    return tuple(out)


def journal_tracebacks(entries: Iterable[JournalEntry]) -> list[Traceback]:
    """Tracebacks in a unit's journal, read per process so interleaved lines stay apart."""
    by_pid: dict[tuple[str | None, int | None], list[JournalEntry]] = {}
    for e in entries:
        by_pid.setdefault((e.unit, e.pid), []).append(e)
    out = []
    for (unit, _pid), group in by_pid.items():
        lines = [e.message for e in group]
        for start, end, exc_type, msg in find_tracebacks(lines):
            out.append(Traceback(
                unit=unit, origin="journal", exc_type=exc_type, exc_message=msg,
                last_line=lines[end], text="\n".join(lines[start:end + 1]),
                time=group[end].time, source=group[end].source,
                detail=exception_detail(lines, end),
            ))
    out.sort(key=lambda t: t.time or 0.0)
    return out


def import_probe(item: Item) -> ImportProbe | None:
    """Read the import probe item of one unit."""
    data = item.data or {}
    if not data:
        return None
    result = data.get("result") or {}
    return ImportProbe(
        unit=item.subject, interpreter=str(data.get("interpreter", "")),
        cwd=str(data.get("cwd", "")), module=str(data.get("module", "")),
        attr=str(data.get("attr", "")), user=str(data.get("user", "")),
        ok=bool(result.get("ok")) and item.rc == 0, rc=item.rc,
        stage=result.get("stage"), exc_type=result.get("exc_type"),
        exc_message=result.get("exc_message"), exc_name=result.get("exc_name"),
        stderr=item.stderr or "", note=item.error or data.get("note"),
        source=f"import probe of {item.subject} ({data.get('interpreter')} in {data.get('cwd')})",
    )


def probe_tracebacks(probe: ImportProbe) -> list[Traceback]:
    """The traceback the import probe printed, as a Traceback fact."""
    lines = probe.stderr.splitlines()
    return [
        Traceback(unit=probe.unit, origin="import-probe", exc_type=t, exc_message=m,
                  last_line=lines[end], text="\n".join(lines[start:end + 1]), time=None,
                  source=probe.source, detail=exception_detail(lines, end))
        for start, end, t, m in find_tracebacks(lines)
    ]


def python_info(item: Item) -> PythonInfo:
    """`<python> --version` of one unit (Python 2 printed it on stderr)."""
    text = ((item.stdout or "") + (item.stderr or "")).strip()
    m = re.search(r"Python (\d+\.\d+(?:\.\d+)?\S*)", text)
    return PythonInfo(unit=item.subject, interpreter=item.argv[0] if item.argv else None,
                      version=m.group(1) if m else None, error=item.error,
                      source=item.source)


def env_file(item: Item) -> EnvFile:
    """Keys set by an EnvironmentFile/.env."""
    data = item.data or {}
    return EnvFile(path=item.path or item.subject, exists=item.error_kind != "missing",
                   keys=tuple(data.get("keys", ())), error=item.error, source=item.source)


def listing(item: Item) -> DirListing:
    """Entry names of a directory listing."""
    entries = (item.data or {}).get("entries", [])
    return DirListing(path=item.path or item.subject,
                      names=frozenset(str(e["name"]) for e in entries), error=item.error)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def file_stat(item: Item) -> FileStat:
    """Owner and mode of a denied path and its parents."""
    chain = tuple(
        PathOwner(path=str(e.get("path", "")), exists=bool(e.get("exists")), uid=_int(e.get("uid")),
                  gid=_int(e.get("gid")), mode=_int(e.get("mode")))
        for e in (item.data or {}).get("chain", []) if isinstance(e, dict)
    )
    return FileStat(path=item.path or item.subject, chain=chain, source=f"stat {item.path}")


def accounts(item: Item) -> Accounts:
    """Account names and ids (from pwd/grp)."""
    data = item.data or {}
    users = {str(u["name"]): (int(u["uid"]), int(u["gid"])) for u in data.get("users", [])}
    groups = {int(g["gid"]): (str(g["name"]), tuple(str(m) for m in g.get("members", ())))
              for g in data.get("groups", [])}
    return Accounts(users=users, groups=groups)
