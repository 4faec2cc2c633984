"""`systemctl show` properties and `journalctl -o json` records."""

from __future__ import annotations

import json

from gatewaydoctor.evidence import Item
from gatewaydoctor.parse.systemd import journal_entries, unit_from

EXEC_START = (
    "ExecStart={ path=/srv/app/backend/venv/bin/python ; argv[]=/srv/app/backend/venv/bin/python"
    " -m uvicorn main:app --host 0.0.0.0 --port 8000 ; ignore_errors=no ; start_time=[n/a] ;"
    " stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }"
)
SHOW = """Type=simple
Restart=always
NRestarts=7
ExecMainCode=1
ExecMainStatus=1
WorkingDirectory=/srv/app/backend
EnvironmentFiles=/srv/app/backend/.env (ignore_errors=no)
User=app
Id=fastapi-backend.service
LoadState=loaded
ActiveState=activating
SubState=auto-restart
Result=exit-code
UnitFileState=enabled
""" + EXEC_START + "\n"


def test_unit_from_show() -> None:
    u = unit_from(Item.from_dict({"source": "systemd.show:fastapi-backend.service",
                                  "kind": "command", "stdout": SHOW}))
    assert u is not None
    assert (u.name, u.state, u.n_restarts, u.user) == (
        "fastapi-backend.service", "activating/auto-restart", 7, "app")
    assert u.app is not None and (u.app.module, u.app.attr) == ("main", "app")
    assert [b.label for b in u.binds] == ["0.0.0.0:8000"]
    assert u.environment_files == (("/srv/app/backend/.env", False),)


def test_journal_message_as_byte_array() -> None:
    records = [
        {"MESSAGE": "fastapi-backend.service: Scheduled restart job, restart counter is at 3.",
         "_PID": "1", "__REALTIME_TIMESTAMP": "1795465813443166", "SYSLOG_IDENTIFIER": "systemd"},
        {"MESSAGE": list("caf\u00e9 \x1b[31m".encode()), "_PID": "42"},
    ]
    item = Item.from_dict({"source": "journal.unit:a.service", "kind": "command",
                           "stdout": "\n".join(json.dumps(r) for r in records)})
    first, second = journal_entries(item, "a.service")
    assert first.time == 1795465813.443166 and first.pid == 1
    assert second.message == "caf\u00e9 \x1b[31m" and second.source == "journalctl -u a.service"
