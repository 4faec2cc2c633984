"""The databases the app is configured to use, and what reaching them gave."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..evidence import Evidence, Item
from ..facts import DatabaseCheck, DatabaseUnit
from ..formats import sources


def check(item: Item) -> DatabaseCheck | None:
    """Read one `db.check:<unit>:<setting>` item."""
    data = item.data or {}
    if not data:
        return None
    connect = data.get("connect") or {}
    login = data.get("login") or {}
    ok = login.get("ok")
    driver = login.get("driver")
    return DatabaseCheck(
        unit=str(data.get("unit", "")),
        setting=str(data.get("setting", "")),
        origin=str(data.get("origin", "")),
        scheme=str(data.get("scheme", "")),
        host=data.get("host"),
        port=data.get("port"),
        dbname=data.get("dbname"),
        user=data.get("user"),
        connected=connect.get("connected") if connect else None,
        connect_error=connect.get("error") if connect else None,
        login_driver=driver,
        login_ok=ok if isinstance(ok, bool) else None,
        login_error=login.get("error"),
        login_note=login.get("note"),
        connect_source=(f"TCP connect to {data.get('host') or 'localhost'}:"
                        f"{data.get('port') or 5432} ({data.get('setting', '')})"),
        source=_source(data, login),
    )


def _source(data: Mapping[str, Any], login: Mapping[str, Any]) -> str:
    """How the check is cited: the login as the app, or the check of a setting."""
    if login.get("driver"):
        return (f"{login.get('driver')} login as the app ({login.get('interpreter')}, "
                f"{data.get('setting')} from {data.get('origin')})")
    return f"database check of {data.get('setting')} from {data.get('origin')}"


def checks(ev: Evidence) -> tuple[DatabaseCheck, ...] | None:
    """Every database check; () when units were looked at and none names a database."""
    settings = list(ev.prefixed(sources.DB_SETTINGS_PREFIX))
    found = [c for c in (check(i) for i in ev.prefixed(sources.DB_CHECK_PREFIX)) if c is not None]
    if not settings and not found:
        return None
    return tuple(found)


def server_units(ev: Evidence) -> tuple[DatabaseUnit, ...] | None:
    """The local database servers' units, each once (None when none was looked for)."""
    items = [i for i in ev.prefixed(sources.DB_SERVER_UNITS_PREFIX) if i.data]
    if not items:
        return None
    seen: dict[str, DatabaseUnit] = {}
    for item in items:
        data = item.data or {}
        for u in data.get("units") or ():
            name = str(u.get("Id", ""))
            if name and name not in seen:
                seen[name] = DatabaseUnit(
                    name=name, app=str(data.get("unit", "")),
                    load_state=str(u.get("LoadState", "")),
                    active_state=str(u.get("ActiveState", "")),
                    sub_state=str(u.get("SubState", "")), result=str(u.get("Result", "")),
                    unit_file_state=str(u.get("UnitFileState", "")),
                    description=str(u.get("Description", "")),
                    source=f"systemctl show {name}")
    return tuple(seen.values())
