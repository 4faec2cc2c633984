"""The server's command line for a project: the venv's interpreter running the server as a
module (`python -m uvicorn|gunicorn`), or its uwsgi script, every path absolute."""

from __future__ import annotations

import re

from ..errors import GatewayDoctorError
from ..i18n import _
from .detect import Project

GRACEFUL = 30  # seconds a worker gets to finish its requests on stop
# Longer than nginx's upstream keepalive_timeout (60 s): a server closing an idle upstream
# connection nginx is about to reuse makes a 502 ("upstream prematurely closed").
KEEP_ALIVE = 75
# A shell-safe .env line: KEY=value, KEY='value', KEY="value" without $, ` or \.
_SAFE_LINE = re.compile(r"""^\s*(export\s+)?[A-Za-z_][A-Za-z0-9_]*=("[^"$`\\]*"|'[^']*'"""
                        r"""|[^\s'"$`\\;&|<>()]*)\s*$""")


def _uvicorn(p: Project, env_file: str | None) -> list[str]:
    argv = [p.venv.python, "-m", "uvicorn", p.target.spec]
    argv += ["--uds", p.socket] if p.socket else [
        "--host", p.bind.rsplit(":", 1)[0], "--port", p.bind.rsplit(":", 1)[1]]
    argv += ["--workers", str(p.workers), "--proxy-headers", "--forwarded-allow-ips",
             "127.0.0.1", "--timeout-keep-alive", str(KEEP_ALIVE)]
    if p.pythonpath:
        argv += ["--app-dir", p.pythonpath]
    if env_file:
        argv += ["--env-file", env_file]
    return argv


def _gunicorn(p: Project) -> list[str]:
    argv = [p.venv.python, "-m", "gunicorn", "--bind", p.bind, "--workers", str(p.workers)]
    if p.target.kind == "asgi":
        worker = ("uvicorn_worker.UvicornWorker" if p.venv.has("uvicorn_worker")
                  else "uvicorn.workers.UvicornWorker")
        argv += ["--worker-class", worker]
    argv += ["--timeout", str(p.timeout), "--graceful-timeout", str(GRACEFUL),
             "--keep-alive", str(KEEP_ALIVE), "--forwarded-allow-ips", "127.0.0.1",
             "--access-logfile", "-"]
    if p.pythonpath:
        argv += ["--pythonpath", p.pythonpath]
    return [*argv, p.target.spec]


def _uwsgi(p: Project) -> list[str]:
    listen = p.socket or p.bind
    argv = [p.venv.script("uwsgi"), "--master", "--need-app", "--die-on-term", "--vacuum",
            "--virtualenv", p.venv.path, "--chdir", p.workdir, "--module", p.target.spec,
            "--http-socket", listen, "--processes", str(p.workers),
            "--harakiri", str(p.timeout)]
    if p.socket:
        argv += ["--chmod-socket", "666"]
    if p.pythonpath:
        argv += ["--pythonpath", p.pythonpath]
    return argv


def server_argv(p: Project, *, env_file: str | None = None) -> list[str]:
    """The command that runs the app (env_file: uvicorn loads it itself)."""
    if p.server == "uvicorn":
        return _uvicorn(p, env_file)
    if p.server == "gunicorn":
        return _gunicorn(p)
    return _uwsgi(p)


def check_shell_env(path: str) -> None:
    """The .env must read the same in `sh` as in systemd for the supervisor wrapper."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip() and not line.lstrip().startswith("#") and \
                    not _SAFE_LINE.match(line.rstrip("\n")):
                raise GatewayDoctorError(_(
                    "{path}:{line}: sh would read this line otherwise than systemd (quote the "
                    "value in single quotes) — supervisor's program reads the file through "
                    "sh").format(path=path, line=number))
