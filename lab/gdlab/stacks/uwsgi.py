"""uwsgi: a Flask app on Debian's uWSGI (uwsgi-core + the python3 plugin) started from an ini
file by its own Type=notify unit, reached by nginx's `uwsgi_pass` over TCP 127.0.0.1:3031 (the
uwsgi protocol, not HTTP), its log in a file (`logto`), a Django-style package under /srv,
PostgreSQL on 5434; no name, port or path in common with the other stacks."""

from __future__ import annotations

import os
from pathlib import Path

from ..stack import postgres_provision, postgres_unit
from . import (
    APPS,
    StackSpec,
    accounts,
    copy_tree,
    register,
    units_dir,
)

UID = 1604
ROOT = "/srv/notes"
INI = f"{ROOT}/uwsgi.ini"
DSN = "postgresql://notes:N0tesDbPass@127.0.0.1:5434/notes"
SITE = "/etc/nginx/sites-enabled/notes.conf"

# As uWSGI's docs write it: plugins for a distribution's uwsgi-core, the venv as `virtualenv`,
# `die-on-term` for systemd, a log file; need-app is not set (uWSGI 2.0's default), so a
# broken import leaves uWSGI up in "full dynamic mode", answering 500.
UWSGI_INI = f"""\
[uwsgi]
plugins = python3
chdir = {ROOT}/app
virtualenv = {ROOT}/env
module = notesapp.wsgi:application
env = NOTES_DATABASE_URL={DSN}
master = true
processes = 2
socket = 127.0.0.1:3031
harakiri = 30
vacuum = true
die-on-term = true
logto = /var/log/uwsgi/notes.log
"""

UNIT = f"""\
[Unit]
Description=notes (uWSGI)
After=network.target postgresql.service

[Service]
Type=notify
NotifyAccess=all
User=notes
Group=www-data
ExecStart=/usr/bin/uwsgi --ini {INI}
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
"""

SITE_CONF = f"""\
server {{
    listen 8088;
    server_name notes.example.net;

    access_log /var/log/nginx/notes.access.log;
    error_log /var/log/nginx/notes.error.log;

    location /static/ {{
        alias {ROOT}/app/static/;
    }}

    location / {{
        include uwsgi_params;
        uwsgi_pass 127.0.0.1:3031;
    }}
}}
"""


def _stage(stage: Path) -> list[tuple[Path, str]]:
    root = stage / "srv-notes"
    (root / "app" / "static").mkdir(parents=True)
    (root / "env").mkdir()
    copy_tree(APPS / "uwsgi", root / "app", UID, UID)
    (root / "uwsgi.ini").write_text(UWSGI_INI)
    for path in (root, root / "env", root / "uwsgi.ini"):
        path.chmod(0o755 if path.is_dir() else 0o644)
        os.chown(path, UID, UID)
    units = units_dir(stage, {"notes-uwsgi.service": UNIT,
                              "postgresql.service": postgres_unit(5434)}, ("nginx.service",))
    return [(root, ROOT), (units, "/etc/systemd/system")]


SPEC = register(StackSpec(
    name="uwsgi",
    description="Flask on Debian's uWSGI (--ini, module=, virtualenv=, master, logto) as a "
    "Type=notify unit, nginx `uwsgi_pass 127.0.0.1:3031` on :8088, PostgreSQL :5434",
    manager="systemd",
    app="notes-uwsgi.service",
    app_dir=f"{ROOT}/app",
    app_user="notes",
    code_file=f"{ROOT}/app/notesapp/wsgi.py",
    venv=f"{ROOT}/env",
    bind="127.0.0.1:3031",
    server_name="notes.example.net",
    port=8088,
    site=SITE,
    path="/notes/",
    health="/ping/db",
    slow="/notes/export",
    nginx=("systemd", "nginx.service"),
    stage=_stage,
    provision=(
        "install -d -o notes -g notes -m 755 /var/log/uwsgi\n"
        + postgres_provision(5434, "notes", "N0tesDbPass", "notes")
        + "systemctl start notes-uwsgi.service nginx.service\n"
    ),
    etc={**accounts({"notes": UID}, ["notes.example.net"]), SITE: SITE_CONF},
    # Without need-app uWSGI keeps serving after a failed import and answers 500 ("Internal
    # Server Error", its log: "no python application found"). A squatter that does not speak
    # the uwsgi protocol (http.server) never answers nginx's request: no status in time.
    statuses={"missing-dependency": 500, "permission-code": 500, "port-conflict": 0},
))
