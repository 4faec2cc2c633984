"""Faults in nginx and between nginx and the backend."""

from __future__ import annotations

import time

from ..stack import GUNICORN_SOCKET, Stack
from . import UNIT, scenario, wait_status
from .app import append_to_main
from .service import edit_unit

SITE = "sites-available/fastapi"


def edit_nginx(stack: Stack, old: str, new: str, *, file: str = SITE, count: int = -1,
               reload: str | None = "reload") -> None:
    """Change an nginx file on disk, then reload/restart nginx (or leave it be)."""
    path = stack.nginx_conf / file
    text = path.read_text()
    if old not in text:
        raise AssertionError(f"{old!r} not in {file}")
    path.write_text(text.replace(old, new, count))
    if reload:
        stack.lab.run(["systemctl", reload, "nginx.service"])


def wait_app(stack: Stack, port: int = 8000) -> None:
    """Wait until the app answers straight on its port (a restart leaves a gap of 502s)."""
    url = f"http://127.0.0.1:{port}/health"
    stack.lab.sh(f"for i in $(seq 150); do curl -s -o /dev/null -m 1 {url} && exit 0; "
                 "sleep 0.1; done; exit 1", timeout=30)


def restart_app(stack: Stack, port: int = 8000) -> None:
    stack.lab.run(["systemctl", "restart", UNIT], check=True)
    wait_app(stack, port)


def move_app_to_port(stack: Stack, port: int) -> None:
    edit_unit(stack, "--port 8000", f"--port {port}")
    restart_app(stack, port)


@scenario(
    name="nginx-config-invalid",
    category="nginx.config_invalid",
    description="A `;` went missing in the site; nginx was restarted and does not come "
    "back: `nginx -t` fails.",
    status=0,
    decisive=("/etc/nginx/sites-enabled/fastapi:",),
)
def nginx_config_invalid(stack: Stack) -> None:
    edit_nginx(stack, "proxy_pass http://127.0.0.1:8000;", "proxy_pass http://127.0.0.1:8000",
               count=1, reload="restart")
    wait_status(stack, "/api/health", 0)


@scenario(
    name="nginx-not-reloaded",
    category="nginx.not_reloaded",
    description="The app moved to :8001 and the site on disk says so, but nginx was never "
    "reloaded and still proxies to :8000.",
    status=502,
    decisive=("8001",),
)
def nginx_not_reloaded(stack: Stack) -> None:
    move_app_to_port(stack, 8001)
    edit_nginx(stack, "127.0.0.1:8000", "127.0.0.1:8001", reload=None)
    wait_status(stack, "/api/health", 502)


@scenario(
    name="upstream-mismatch",
    category="nginx.upstream_mismatch",
    description="The app listens on :8001 while proxy_pass still says :8000.",
    status=502,
    decisive=("8001",),
)
def upstream_mismatch(stack: Stack) -> None:
    move_app_to_port(stack, 8001)
    wait_status(stack, "/api/health", 502)


@scenario(
    name="localhost-ipv6",
    category="nginx.upstream_address_family",
    description="proxy_pass says `localhost`, which resolves to ::1 first, while uvicorn "
    "listens on 127.0.0.1 only: every request fails once on [::1] before it succeeds.",
    status=200,
    decisive=("[::1]:8000",),
)
def localhost_ipv6(stack: Stack) -> None:
    edit_unit(stack, "--host 0.0.0.0", "--host 127.0.0.1")
    restart_app(stack)
    edit_nginx(stack, "http://127.0.0.1:8000", "http://localhost:8000")
    wait_status(stack, "/api/health", 200)
    # The reload is asynchronous: request until the new workers have tried [::1].
    for _ in range(50):
        stack.curl_status("/api/health")
        if "[::1]:8000" in stack.lab.run(["cat", "/var/log/nginx/error.log"]).stdout:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("nginx never tried [::1]:8000")


@scenario(
    name="rate-limit-docs",
    category="nginx.rate_limited",
    description="/api/health is healthy but /docs answers 503: a limit_req zone rejects "
    "it (the second seed's symptom).",
    path="/docs",
    status=503,
    decisive=("limiting requests",),
)
def rate_limit_docs(stack: Stack) -> None:
    (stack.nginx_conf / "conf.d" / "ratelimit.conf").write_text(
        "limit_req_zone $binary_remote_addr zone=docs:1m rate=1r/m;\n"
    )
    edit_nginx(stack, "location /docs {\n", "location /docs {\n        limit_req zone=docs;\n")
    stack.curl_status("/docs")
    wait_status(stack, "/docs", 503)
    wait_status(stack, "/api/health", 200)


@scenario(
    name="header-too-big",
    category="nginx.header_too_big",
    description="The app sets an 8 KB session cookie: larger than proxy_buffer_size, "
    "nginx answers 502.",
    status=502,
    decisive=("upstream sent too big header",),
)
def header_too_big(stack: Stack) -> None:
    append_to_main(
        stack,
        "\n\n@app.middleware(\"http\")\n"
        "async def session_cookie(request, call_next):\n"
        "    response = await call_next(request)\n"
        "    response.headers[\"Set-Cookie\"] = \"session=\" + \"a\" * 8000 + \"; Path=/\"\n"
        "    return response\n",
    )
    restart_app(stack)
    wait_status(stack, "/api/health", 502)


@scenario(
    name="upstream-slow",
    category="upstream.timeout",
    description="/api/health takes 4 s (a slow query) and proxy_read_timeout is 2 s: 504.",
    status=504,
    decisive=("upstream timed out",),
)
def upstream_slow(stack: Stack) -> None:
    main = stack.backend / "main.py"
    main.write_text(main.read_text().replace(
        'def api_health() -> dict[str, str]:\n',
        'def api_health() -> dict[str, str]:\n    import time\n    time.sleep(4)\n'))
    restart_app(stack)
    edit_nginx(stack, "location /api/ {\n",
               "location /api/ {\n        proxy_read_timeout 2s;\n")
    wait_status(stack, "/api/health", 504)


@scenario(
    name="gunicorn-worker-timeout",
    category="upstream.timeout",
    description="An `async def` handler blocks the event loop longer than gunicorn's "
    "--timeout: WORKER TIMEOUT, the worker is killed mid-request, 502.",
    variant="gunicorn",
    status=502,
    decisive=("WORKER TIMEOUT",),
)
def gunicorn_worker_timeout(stack: Stack) -> None:
    main = stack.backend / "main.py"
    main.write_text(main.read_text().replace(
        'def api_health() -> dict[str, str]:\n',
        'async def api_health() -> dict[str, str]:\n    import time\n    time.sleep(8)\n'))
    edit_unit(stack, "--timeout 30", "--timeout 3")
    stack.lab.run(["systemctl", "restart", UNIT], check=True)
    wait_status(stack, "/health", 200)
    wait_status(stack, "/api/health", 502)
    if not stack.journal_has(UNIT, "WORKER TIMEOUT"):
        raise AssertionError("gunicorn never logged WORKER TIMEOUT")


@scenario(
    name="socket-permission",
    category="permission.socket",
    description="gunicorn's socket directory is 0750 app:app; nginx (www-data) cannot "
    "reach the socket: 13: Permission denied.",
    variant="gunicorn",
    status=502,
    decisive=("Permission denied",),
)
def socket_permission(stack: Stack) -> None:
    edit_unit(stack, "Group=www-data", "Group=app")
    edit_unit(stack, "RuntimeDirectoryMode=0755", "RuntimeDirectoryMode=0750")
    stack.lab.run(["systemctl", "restart", UNIT], check=True)
    stack.lab.sh(f"for i in $(seq 50); do [ -S {GUNICORN_SOCKET} ] && exit 0; sleep 0.1; done")
    wait_status(stack, "/api/health", 502)


@scenario(
    name="worker-connections",
    category="system.fd_exhausted",
    description="worker_connections is 4: the listening sockets and the client take them "
    "all and nginx cannot open the upstream connection (500).",
    status=500,
    decisive=("worker_connections are not enough",),
)
def worker_connections(stack: Stack) -> None:
    edit_nginx(stack, "worker_connections 768;", "worker_connections 4;", file="nginx.conf",
               reload="restart")
    wait_status(stack, "/api/health", 500)
