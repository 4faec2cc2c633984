"""wsgi: a Flask app (WSGI) on gunicorn's sync workers, a supervisord program; Debian's nginx
with the site in conf.d beside the package's default site, everything under `location /`,
a venv outside the code, PostgreSQL reached as `localhost`."""

from __future__ import annotations

import os
from pathlib import Path

from ..scenarios.supervisor import SUPERVISOR_UNIT_TEXT
from ..stack import postgres_provision, postgres_unit
from . import (
    APPS,
    StackSpec,
    accounts,
    copy_tree,
    register,
    units_dir,
)

UID = 1602
HOME = "/home/blog"
SITE = "/etc/nginx/conf.d/blog.conf"

PROGRAM = f"""\
[program:blog]
command={HOME}/.venvs/site/bin/gunicorn --workers 3 --bind 127.0.0.1:5050 --timeout 20 \
--access-logfile - wsgi:app
directory={HOME}/site
user=blog
autostart=true
autorestart=true
startsecs=2
startretries=3
stopasgroup=true
environment=BLOG_DSN="postgresql://blog:BlogPg-2024@localhost/blog"
stdout_logfile=/var/log/blog/gunicorn.log
stderr_logfile=/var/log/blog/gunicorn-error.log
"""

SITE_CONF = f"""\
server {{
    listen 80;
    listen [::]:80;
    server_name blog.example.org www.blog.example.org;

    access_log /var/log/nginx/blog.access.log;
    error_log /var/log/nginx/blog.error.log;
    client_max_body_size 10m;

    location /static/ {{
        alias {HOME}/site/static/;
        expires 7d;
    }}

    location / {{
        proxy_pass http://127.0.0.1:5050;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_redirect off;
    }}
}}
"""


def _stage(stage: Path) -> list[tuple[Path, str]]:
    home = stage / "home"
    site = home / "blog" / "site"
    (site / "static").mkdir(parents=True)
    (home / "blog" / ".venvs" / "site").mkdir(parents=True)
    copy_tree(APPS / "wsgi", site, UID, UID)
    for path in (home / "blog", home / "blog" / ".venvs", home / "blog" / ".venvs" / "site"):
        os.chown(path, UID, UID)
        path.chmod(0o755)
    home.chmod(0o755)
    units = units_dir(stage, {"supervisor.service": SUPERVISOR_UNIT_TEXT,
                              "postgresql.service": postgres_unit(5432)}, ("nginx.service",))
    return [(home, "/home"), (units, "/etc/systemd/system")]


SPEC = register(StackSpec(
    name="wsgi",
    description="Flask (WSGI) on gunicorn sync workers :5050, supervisord program, Debian "
    "nginx site in conf.d (location /), venv in ~/.venvs, PostgreSQL as localhost",
    manager="supervisor",
    app="blog",
    app_dir=f"{HOME}/site",
    app_user="blog",
    code_file=f"{HOME}/site/wsgi.py",
    venv=f"{HOME}/.venvs/site",
    bind="127.0.0.1:5050",
    server_name="blog.example.org",
    port=80,
    site=SITE,
    path="/posts/",
    health="/status",
    slow="/posts/archive",
    nginx=("systemd", "nginx.service"),
    stage=_stage,
    provision=(
        "install -d -m 755 /var/log/blog /var/log/supervisor\n"
        + postgres_provision(5432, "blog", "BlogPg-2024", "blog")
        + "systemctl start supervisor.service nginx.service\n"
    ),
    etc={**accounts({"blog": UID}, ["blog.example.org", "www.blog.example.org"]),
         SITE: SITE_CONF, "/etc/supervisor/conf.d/blog.conf": PROGRAM},
))
