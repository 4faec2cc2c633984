"""edge: nginx run from its own configuration (`nginx -c /opt/edge/nginx.conf`, its own unit),
an `upstream` block over a unix socket, gunicorn with uvicorn workers, a src/ package layout,
PostgreSQL on 5433; no name, port or path in common with the first stack."""

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

UID = 1601
SOCKET = "/run/shop/api.sock"
DSN = "postgresql://shop:Sh0pDbPassw0rd@127.0.0.1:5433/shop"
CONF = "/opt/edge/nginx.conf"

SHOP_UNIT = f"""\
[Unit]
Description=shop API (gunicorn)
After=network.target postgresql.service

[Service]
User=shop
Group=www-data
RuntimeDirectory=shop
WorkingDirectory=/opt/shop
EnvironmentFile=/etc/shop/api.env
ExecStart=/opt/shop/venv/bin/gunicorn --chdir /opt/shop/src --workers 2 \\
    --worker-class uvicorn.workers.UvicornWorker --bind unix:{SOCKET} --umask 007 \\
    --timeout 20 shop.web.asgi:application
Restart=on-failure
RestartSec=3

[Install]
WantedBy=multi-user.target
"""

EDGE_UNIT = f"""\
[Unit]
Description=edge proxy (nginx with its own configuration)
After=network.target

[Service]
Type=forking
PIDFile=/run/edge-nginx.pid
ExecStartPre=/usr/sbin/nginx -t -q -c {CONF}
ExecStart=/usr/sbin/nginx -c {CONF}
ExecReload=/usr/sbin/nginx -c {CONF} -s reload
ExecStop=-/usr/sbin/nginx -c {CONF} -s quit
TimeoutStopSec=5
KillMode=mixed

[Install]
WantedBy=multi-user.target
"""

NGINX_CONF = f"""\
user www-data;
worker_processes 2;
pid /run/edge-nginx.pid;
error_log /var/log/edge/error.log warn;

events {{
    worker_connections 512;
}}

http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    log_format edge '$remote_addr "$request" $status $upstream_addr $request_time';
    access_log /var/log/edge/access.log edge;
    sendfile on;

    upstream shop_api {{
        server unix:{SOCKET} fail_timeout=0;
        keepalive 8;
    }}

    server {{
        listen 8080;
        server_name shop.internal.test shop.example.com;

        location = /healthz {{
            proxy_pass http://shop_api;
        }}

        location /v1/ {{
            proxy_pass http://shop_api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 30s;
        }}

        location / {{
            root /opt/edge/www;
        }}
    }}
}}
"""


def _stage(stage: Path) -> list[tuple[Path, str]]:
    shop = stage / "opt-shop"
    (shop / "venv").mkdir(parents=True)
    copy_tree(APPS / "edge", shop, UID, UID)
    edge = stage / "opt-edge"
    (edge / "www").mkdir(parents=True)
    (edge / "www" / "index.html").write_text("<h1>shop</h1>\n")
    (edge / "nginx.conf").write_text(NGINX_CONF)
    for path in (edge, edge / "www", edge / "www" / "index.html", edge / "nginx.conf"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    units = units_dir(stage, {"shop-api.service": SHOP_UNIT, "edge-proxy.service": EDGE_UNIT,
                              "postgresql.service": postgres_unit(5433)})
    os.chown(shop, UID, UID)
    return [(shop, "/opt/shop"), (edge, "/opt/edge"), (units, "/etc/systemd/system")]


SPEC = register(StackSpec(
    name="edge",
    description="nginx -c /opt/edge/nginx.conf (own unit), upstream block → unix socket, "
    "gunicorn + uvicorn workers, src/ layout, systemd, PostgreSQL :5433",
    manager="systemd",
    app="shop-api.service",
    app_dir="/opt/shop",
    app_user="shop",
    code_file="/opt/shop/src/shop/web/asgi.py",
    venv="/opt/shop/venv",
    bind=f"unix:{SOCKET}",
    server_name="shop.internal.test",
    port=8080,
    site=CONF,
    path="/v1/catalog",
    health="/healthz",
    slow="/v1/report",
    nginx=("systemd", "edge-proxy.service"),
    stage=_stage,
    provision=(
        "install -d -m 755 /etc/shop /var/log/edge\n"
        f"printf 'SHOP_DATABASE_URL={DSN}\\n' > /etc/shop/api.env\n"
        "chmod 640 /etc/shop/api.env\n"
        + postgres_provision(5433, "shop", "Sh0pDbPassw0rd", "shop")
        + "systemctl start shop-api.service edge-proxy.service\n"
    ),
    etc=accounts({"shop": UID}, ["shop.internal.test"]),
))
