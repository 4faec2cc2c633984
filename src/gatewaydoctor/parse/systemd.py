"""systemd units (`systemctl show`) and journal records (`journalctl -o json`)."""

from __future__ import annotations

from typing import Any

from ..evidence import Item
from ..facts import Endpoint, JournalEntry, Unit, UnitFileText
from ..formats import execspec, journal, systemd


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None and value not in ("", "[not set]") else None
    except (ValueError, TypeError, OverflowError):  # replayed evidence may hold anything
        return None


def _text(value: object) -> str | None:
    """A record's text field, or None when it is not text (replayed evidence)."""
    return value if isinstance(value, str) else None


def unit_from(item: Item) -> Unit | None:
    """Build a Unit from one `systemctl show <unit>` item."""
    blocks = systemd.parse_show(item.stdout or "")
    if not blocks:
        return None
    p = blocks[0]
    argvs = systemd.exec_argvs(p.get("ExecStart", ""))
    return Unit(
        **_serves(p.get("ExecStart", "")),
        name=p.get("Id") or item.subject,
        load_state=p.get("LoadState", ""),
        active_state=p.get("ActiveState", ""),
        sub_state=p.get("SubState", ""),
        result=p.get("Result", ""),
        n_restarts=_int(p.get("NRestarts")) or 0,
        exec_main_code=_int(p.get("ExecMainCode")),
        exec_main_status=_int(p.get("ExecMainStatus")),
        exec_start=tuple(tuple(a) for a in argvs),
        working_directory=systemd.clean_path(p.get("WorkingDirectory", "")) or None,
        user=p.get("User") or None,
        environment_files=tuple(systemd.environment_files(p.get("EnvironmentFiles", ""))),
        fragment_path=p.get("FragmentPath") or None,
        unit_file_state=p.get("UnitFileState", ""),
        main_pid=_int(p.get("MainPID")) or None,
        need_daemon_reload=p.get("NeedDaemonReload") == "yes",
        description=p.get("Description", ""),
        source=f"systemctl show {item.subject}",
    )


def _serves(exec_start: str) -> dict[str, Any]:
    """Unit's server, app and binds: those of the first ExecStart argv starting a web server."""
    web = execspec.server_argv(exec_start)
    if web is None:
        return {"server": None, "app": None, "binds": ()}
    return {"server": execspec.server_of(web), "app": execspec.app_target(web),
            "binds": tuple(Endpoint.parse(b) for b in execspec.binds(web))}


def unit_journal(item: Item) -> list[JournalEntry]:
    """The journal of the unit a `journal.unit:<unit>` item names."""
    return journal_entries(item, item.subject)


def journal_entries(item: Item, unit: str | None) -> list[JournalEntry]:
    """Parse `journalctl -o json` output (one JSON object per line)."""
    label = f"journalctl -u {unit}" if unit else "journalctl -k"
    out = []
    for rec in journal.records(item.stdout or ""):
        usec = _int(rec.get("__REALTIME_TIMESTAMP"))
        out.append(JournalEntry(
            unit=unit,
            time=usec / 1e6 if usec is not None else None,
            message=journal.message(rec.get("MESSAGE")),
            pid=_int(rec.get("_PID")),
            identifier=_text(rec.get("SYSLOG_IDENTIFIER")),
            priority=_int(rec.get("PRIORITY")),
            source=label,
        ))
    return out


def unit_file_text(item: Item) -> UnitFileText | None:
    """A unit's files on disk (as `systemctl cat` lays them out), and, from systemctl,
    its warning when they changed."""
    text = item.stdout or ""
    if not text.strip():
        return None
    execs = tuple(_exec_starts(text))
    warnings = tuple(line.lstrip("# ").rstrip() for line in (item.stderr or "").splitlines()
                     if line.strip())
    # Read by the agent (FragmentPath and drop-ins), or `systemctl cat` in older bundles.
    where = item.path if item.kind == "file" and item.path else f"systemctl cat {item.subject}"
    return UnitFileText(unit=item.subject, text=text, exec_start=execs, warnings=warnings,
                        source=where)


def _exec_starts(text: str) -> list[str]:
    """The non-empty `ExecStart=` command lines of unit files."""
    values = (line.split("=", 1)[1].strip() for line in text.splitlines()
              if line.strip().startswith("ExecStart="))
    return [v for v in values if v]
