"""Fault families: one fault, written once against `Deployed`, injected on every stack.

A family that cannot apply to a stack says why (`applies` returns the reason). `inject`
breaks the stack for real, the way it happens on servers, and waits until a client sees it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from .stacks import Deployed, StackSpec


@dataclass(frozen=True)
class Family:
    name: str
    category: str | None  # None: the stack is healthy and must be diagnosed so
    description: str
    inject: Callable[[Deployed], None]
    url: Callable[[Deployed], str | None]  # the URL the user gives (None: none)
    applies: Callable[[StackSpec], str | None] = lambda spec: None


FAMILIES: dict[str, Family] = {}


def family(**kwargs: object) -> Callable[[Callable[[Deployed], None]], Callable[[Deployed], None]]:
    def register(inject: Callable[[Deployed], None]) -> Callable[[Deployed], None]:
        kwargs.setdefault("url", lambda d: d.url(d.spec.path))
        f = Family(inject=inject, **kwargs)  # type: ignore[arg-type]
        FAMILIES[f.name] = f
        return inject

    return register


def expect(d: Deployed, path: str, status: int) -> None:
    seen = d.wait_for(path, status, timeout=45)
    if seen != status:
        raise AssertionError(f"{d.spec.name}: after injection {path} answers {seen}, "
                             f"expected {status}")


def seen(d: Deployed, family: str, usual: int) -> int:
    """The status a client gets after `family` on this stack (its server may differ)."""
    return d.spec.statuses.get(family, usual)


def _pass_lines(text: str) -> list[str]:
    """The site's `proxy_pass ...;` / `uwsgi_pass ...;` lines, each once."""
    return list(dict.fromkeys(m.group(0) for m in re.finditer(r"(?:proxy|uwsgi)_pass [^;]+;",
                                                               text)))


def _tcp_port(spec: StackSpec) -> str | None:
    return None if spec.bind.startswith("unix:") else spec.bind.rsplit(":", 1)[1]


def _not_root(spec: StackSpec) -> str | None:
    return "the app runs as root, which reads any file" if spec.app_user == "root" else None


@family(name="healthy", category=None, description="the stack as deployed")
def healthy(d: Deployed) -> None:
    expect(d, d.spec.path, 200)


@family(name="healthy-no-url", category=None, description="healthy, diagnosed without a URL",
        url=lambda d: None)
def healthy_no_url(d: Deployed) -> None:
    expect(d, d.spec.path, 200)


@family(name="healthy-foreign-name", category=None,
        description="healthy; the URL's name does not resolve on the server (split DNS, a CDN "
        "in front, a name only in the client's hosts file)")
def healthy_foreign_name(d: Deployed) -> None:
    name = re.escape(d.spec.server_name)
    d.sh(f"sed -i -E '/[[:space:]]{name}$/d' /etc/hosts")
    if re.search(rf"\s{name}$", d.sh("cat /etc/hosts"), re.M):
        raise AssertionError("the name is still in /etc/hosts")
    expect(d, d.spec.path, 200)


@family(name="app-stopped", category="service.not_running",
        description="someone stopped the app with its manager (or killed the hand-run one)")
def app_stopped(d: Deployed) -> None:
    d.manage("stop")
    expect(d, d.spec.path, 502)


@family(name="missing-dependency", category="app.missing_dependency",
        description="psycopg2 is not in the venv the app runs (the requirements were installed "
        "elsewhere, or it was uninstalled); the app is restarted and dies at import")
def missing_dependency(d: Deployed) -> None:
    d.sh(f"{d.spec.venv}/bin/python -m pip uninstall --quiet --yes psycopg2-binary")
    d.manage("restart")
    expect(d, d.spec.path, seen(d, "missing-dependency", 502))


@family(name="db-down", category="database.unreachable",
        description="PostgreSQL is stopped; the app runs and its health path answers 503",
        url=lambda d: d.url(d.spec.health))
def db_down(d: Deployed) -> None:
    d.sh("systemctl stop postgresql.service")
    expect(d, d.spec.health, 503)


def _moved(bind: str) -> str:
    if bind.startswith("unix:"):
        return bind.rsplit("/", 1)[0] + "/app.sock"
    host, port = bind.rsplit(":", 1)
    return f"{host}:{int(port) + 1}"


@family(name="upstream-mismatch", category="nginx.upstream_mismatch",
        description="nginx was pointed at another port or socket than the one the app "
        "listens on, and reloaded")
def upstream_mismatch(d: Deployed) -> None:
    d.edit(d.spec.site, d.spec.bind, _moved(d.spec.bind))
    d.nginx_do("reload")
    expect(d, d.spec.path, 502)


@family(name="nginx-config-invalid", category="nginx.config_invalid",
        description="a `;` went missing in the site; nginx was restarted and does not come back")
def nginx_config_invalid(d: Deployed) -> None:
    handler = _pass_lines(d.sh(f"cat {d.spec.site}"))[0].split()[0] + " "
    d.edit(d.spec.site, handler, f"{handler} http://example.invalid\n        {handler}", count=1)
    d.nginx_do("restart")
    expect(d, d.spec.path, 0)


@family(name="port-conflict", category="port.conflict",
        description="a forgotten debug server holds the app's port; the app is restarted and "
        "cannot bind, nginx talks to the squatter", applies=lambda s: None if _tcp_port(s)
        else "the app listens on a unix socket")
def port_conflict(d: Deployed) -> None:
    host, port = d.spec.bind.rsplit(":", 1)
    d.manage("stop")
    time.sleep(1)
    d.sh(f"cd /tmp && setsid runuser -u nobody -- python3 -m http.server {port} --bind {host} "
         "</dev/null >/dev/null 2>&1 &")
    time.sleep(1)
    d.manage("start")
    time.sleep(5)  # it tries to bind (gunicorn retries for 5 s) and fails
    expect(d, d.spec.path, seen(d, "port-conflict", 404))


@family(name="permission-code", category="permission.denied",
        description="the app's module was copied in by root with mode 600: the app's user "
        "cannot read it; the app is restarted", applies=_not_root)
def permission_code(d: Deployed) -> None:
    d.sh(f"chown root:root {d.spec.code_file} && chmod 600 {d.spec.code_file}")
    # A fresh deploy has no bytecode cache the app's user could fall back on.
    d.sh(f"find {d.spec.app_dir} -path {d.spec.venv} -prune -o -name __pycache__ -type d "
         "-exec rm -rf {} +")
    d.manage("restart")
    expect(d, d.spec.path, seen(d, "permission-code", 502))


@family(name="upstream-slow", category="upstream.timeout",
        description="a report takes 5 s and proxy_read_timeout is 3 s: 504",
        url=lambda d: d.url(d.spec.slow))
def upstream_slow(d: Deployed) -> None:
    d.sh(f"sed -i -E '/(proxy|uwsgi)_read_timeout/d' {d.spec.site}")
    for line in _pass_lines(d.sh(f"cat {d.spec.site}")):
        kind = line.split("_", 1)[0]  # proxy_pass → proxy_read_timeout, uwsgi_pass → uwsgi_…
        d.edit(d.spec.site, line, f"{line} {kind}_read_timeout 3s;")
    d.nginx_do("reload")
    expect(d, d.spec.slow, 504)


def _nginx_unit_tcp(spec: StackSpec) -> str | None:
    if spec.nginx[0] != "systemd":
        return "nginx is not run by a systemd unit (PrivateNetwork= is a unit's setting)"
    return None if _tcp_port(spec) else "the app listens on a unix socket, which a private " \
        "network namespace still reaches (it is a file)"


@family(name="nginx-private-network", category="network.namespace",
        description="a hardening guide's PrivateNetwork=yes on nginx's unit: nginx gets a "
        "loopback of its own, where the app's 127.0.0.1 port is not", applies=_nginx_unit_tcp)
def nginx_private_network(d: Deployed) -> None:
    unit = d.spec.nginx[1]
    d.sh(f"mkdir -p /run/systemd/system/{unit}.d && printf '[Service]\\nPrivateNetwork=yes\\n' "
         f"> /run/systemd/system/{unit}.d/hardening.conf && systemctl daemon-reload && "
         f"systemctl restart {unit}")
    expect(d, d.spec.path, 0)  # from outside its namespace nginx is not even reachable
