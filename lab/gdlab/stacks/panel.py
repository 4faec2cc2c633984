"""panel: the Baota (宝塔) layout — nginx built into /www/server/nginx and started by hand with
its own -c, vhosts included from /www/server/panel/vhost/nginx, logs in /www/wwwlogs, the
project in /www/wwwroot/<site> — with uvicorn started by hand (nohup, as root, no unit), or,
in panel-pm2, run by pm2 as the panel's `www` user."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
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

UID = 1603
SITE = "api.example.cn"
ROOT = f"/www/wwwroot/{SITE}"
NGINX = "/www/server/nginx/sbin/nginx"
CONF = "/www/server/nginx/conf/nginx.conf"
VHOST = f"/www/server/panel/vhost/nginx/{SITE}.conf"
PM2_HOME = "/home/www/.pm2"

NGINX_CONF = """\
user  www www;
worker_processes auto;
error_log  /www/wwwlogs/nginx_error.log  crit;
pid        /www/server/nginx/logs/nginx.pid;
worker_rlimit_nofile 51200;

events
    {
        use epoll;
        worker_connections 51200;
        multi_accept on;
    }

http
    {
        include       mime.types;
        default_type  application/octet-stream;

        server_names_hash_bucket_size 512;
        client_header_buffer_size 32k;
        large_client_header_buffers 4 32k;
        client_max_body_size 50m;

        sendfile   on;
        tcp_nopush on;
        keepalive_timeout 60;
        tcp_nodelay on;

        gzip on;
        gzip_min_length  1k;
        gzip_types     text/plain application/javascript text/css application/xml;

        server_tokens off;
        access_log off;

server
    {
        listen 888;
        server_name phpmyadmin;
        index index.html index.htm index.php;
        root  /www/server/phpmyadmin;
        access_log  /www/wwwlogs/access.log;
    }
include /www/server/panel/vhost/nginx/*.conf;
}
"""

VHOST_CONF = f"""\
server
{{
    listen 80;
    server_name {SITE};
    index index.html index.htm default.htm default.html;
    root {ROOT};

    #SSL-START SSL相关配置
    #error_page 404/404.html;
    #SSL-END

    #ERROR-PAGE-START  错误页相关配置
    #error_page 404 /404.html;
    #error_page 502 /502.html;
    #ERROR-PAGE-END

    #REWRITE-START 伪静态相关配置
    include /www/server/panel/vhost/rewrite/{SITE}.conf;
    #REWRITE-END

    location ^~ /api/ {{
        proxy_pass http://127.0.0.1:8008;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header REMOTE-HOST $remote_addr;
        add_header X-Cache $upstream_cache_status;
    }}

    #禁止访问的文件或目录
    location ~ ^/(\\.user.ini|\\.htaccess|\\.git|\\.env|\\.svn|\\.project|LICENSE|README.md)
    {{
        return 404;
    }}

    access_log  /www/wwwlogs/{SITE}.log;
    error_log  /www/wwwlogs/{SITE}.error.log;
}}
"""

ECOSYSTEM = f"""\
module.exports = {{
  apps: [{{
    name: "api",
    cwd: "{ROOT}",
    script: "{ROOT}/venv/bin/uvicorn",
    args: "app.main:app --host 127.0.0.1 --port 8008",
    interpreter: "{ROOT}/venv/bin/python",
    max_restarts: 5,
    min_uptime: "5s",
    autorestart: true,
  }}],
}};
"""

# The init script the panel installs (LNMP's, as Baota ships it): how nginx is started when
# nothing runs any more.
INIT_SCRIPT = """\
#!/bin/bash
# chkconfig: 2345 55 25
# Description: Nginx init.d script, put in /etc/init.d, chmod +x /etc/init.d/nginx
### BEGIN INIT INFO
# Provides:          nginx
# Required-Start:    $all
# Required-Stop:     $all
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: nginx
### END INIT INFO

NAME=nginx
NGINX_BIN=/www/server/nginx/sbin/$NAME
CONFIGFILE=/www/server/nginx/conf/$NAME.conf
PIDFILE=/www/server/nginx/logs/$NAME.pid

case "$1" in
    start)
        echo -n "Starting $NAME... "
        $NGINX_BIN -c $CONFIGFILE
        ;;
    stop)
        echo -n "Stoping $NAME... "
        $NGINX_BIN -s stop
        ;;
    reload)
        $NGINX_BIN -s reload
        ;;
esac
"""

DSN = "postgresql://api_user:Pa5sw0rd_api@127.0.0.1:5432/api"
START_BY_HAND = (
    f"cd {ROOT} && setsid sh -c 'exec nohup {ROOT}/venv/bin/uvicorn app.main:app "
    "--host 127.0.0.1 --port 8008' </dev/null >>nohup.out 2>&1 &\n"
)
PM2 = f"runuser -u www -- env HOME=/home/www PM2_HOME={PM2_HOME} pm2"


def _stage(stage: Path) -> list[tuple[Path, str]]:
    www = stage / "www"
    nginx = www / "server" / "nginx"
    for sub in ("sbin", "conf", "logs"):
        (nginx / sub).mkdir(parents=True)
    shutil.copy2("/usr/sbin/nginx", nginx / "sbin" / "nginx")
    shutil.copy("/etc/nginx/mime.types", nginx / "conf" / "mime.types")
    (nginx / "conf" / "nginx.conf").write_text(NGINX_CONF)
    vhost = www / "server" / "panel" / "vhost"
    (vhost / "nginx").mkdir(parents=True)
    (vhost / "rewrite").mkdir()
    (vhost / "nginx" / f"{SITE}.conf").write_text(VHOST_CONF)
    (vhost / "rewrite" / f"{SITE}.conf").write_text("")
    (www / "server" / "phpmyadmin").mkdir()
    (www / "wwwlogs").mkdir()
    root = www / "wwwroot" / SITE
    (root / "venv").mkdir(parents=True)
    copy_tree(APPS / "panel", root, UID, UID)
    (root / ".env").write_text(f"DATABASE_URL={DSN}\n")
    (root / "ecosystem.config.js").write_text(ECOSYSTEM)
    for path in [www, *www.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
        elif path.name != "nginx":
            path.chmod(0o644)
    for path in (root / ".env", root / "ecosystem.config.js", root):
        os.chown(path, UID, UID)
    (root / ".env").chmod(0o600)
    home = stage / "home"
    (home / "www").mkdir(parents=True)
    os.chown(home / "www", UID, UID)
    home.chmod(0o755)
    units = units_dir(stage, {"postgresql.service": postgres_unit(5432)})
    return [(www, "/www"), (home, "/home"), (units, "/etc/systemd/system")]


_PROVISION = postgres_provision(5432, "api_user", "Pa5sw0rd_api", "api") + f"{NGINX} -c {CONF}\n"

SPEC = register(StackSpec(
    name="panel",
    description="Baota layout: /www/server/nginx started by hand with -c, vhost includes, "
    "/www/wwwlogs; uvicorn started by hand with nohup as root (no unit), .env read by the app",
    manager="process",
    app="uvicorn app.main:app (nohup)",
    app_dir=ROOT,
    app_user="root",
    code_file=f"{ROOT}/app/main.py",
    venv=f"{ROOT}/venv",
    bind="127.0.0.1:8008",
    server_name=SITE,
    port=80,
    site=VHOST,
    path="/api/items",
    health="/api/ping",
    slow="/api/export",
    nginx=("binary", NGINX, CONF),
    stage=_stage,
    provision=_PROVISION + START_BY_HAND,
    start=START_BY_HAND,
    start_pattern="uvicorn app.main:app",
    etc={**accounts({"www": UID}, [SITE]), "/etc/init.d/nginx": INIT_SCRIPT},
))

register(replace(
    SPEC,
    name="panel-pm2",
    description="the Baota layout with uvicorn run by pm2 (ecosystem file, venv interpreter) "
    "as the panel's www user",
    manager="pm2",
    app="api",
    app_user="www",
    provision=_PROVISION + f"chown www:www {ROOT}\n"
    f"cd {ROOT} && {PM2} start ecosystem.config.js >/run/pm2-start.log 2>&1 </dev/null\n",
    start="",
    start_pattern="",
    pm2_home=PM2_HOME,
))
