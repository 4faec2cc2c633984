"""The generated files' text, from the project and the templates beside this module."""

from __future__ import annotations

import os
import pwd
import shlex

from jinja2 import Environment, PackageLoader, StrictUndefined

from ..i18n import _
from . import commands
from .detect import Project

START_LIMIT_INTERVAL = 120
START_LIMIT_BURST = 5
READ_MARGIN = 15  # nginx waits this much longer than the app server's own timeout
WEBSOCKET_TIMEOUT = 3600  # a quiet websocket is closed by nginx after this (s)


def _env() -> Environment:
    return Environment(loader=PackageLoader("gatewaydoctor.generate", "templates"),
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                       undefined=StrictUndefined, autoescape=False)


def _systemd_quote(argv: list[str]) -> str:
    """An ExecStart line: systemd splits on spaces and honours double quotes; % and $ are
    its specifiers and variables, doubled to be taken as they are."""
    def one(arg: str) -> str:
        arg = arg.replace("%", "%%").replace("$", "$$")
        return f'"{arg}"' if any(c in arg for c in " \t\"'\\;") else arg
    return " ".join(one(a) for a in argv)


def unit(p: Project) -> str:
    """The systemd service."""
    runtime = None
    if p.socket and p.socket.startswith("/run/") and p.socket.count("/") == 3:
        runtime = p.socket.split("/")[2]  # /run/NAME/x.sock: systemd makes /run/NAME
    return _env().get_template("unit.service.j2").render(
        name=p.name, app_dir=p.app_dir, notes=p.notes, server=p.server, target=p.target.spec,
        interval=START_LIMIT_INTERVAL, burst=START_LIMIT_BURST, user=p.user, group=p.group,
        workdir=p.workdir, env_file=p.env_file, runtime_dir=runtime,
        exec_start=_systemd_quote(commands.server_argv(p)), graceful=commands.GRACEFUL,
        stop_timeout=commands.GRACEFUL + 10)


def supervisor_command(p: Project) -> tuple[str, str | None]:
    """(command=, a note on how the env file reaches the app)."""
    if not p.env_file:
        return shlex.join(commands.server_argv(p)), None
    if p.server == "uvicorn" and p.venv.has("python_dotenv"):
        note = _("{path} is read by uvicorn itself (--env-file, python-dotenv); its values "
                 "are not copied here").format(path=p.env_file)
        return shlex.join(commands.server_argv(p, env_file=p.env_file)), note
    commands.check_shell_env(p.env_file)
    cmd = shlex.join(commands.server_argv(p))
    inner = f"set -a && . {shlex.quote(p.env_file)} && set +a && exec {cmd}"
    note = _("{path} is read at each start by sh (set -a; . file) and the server replaces "
             "that shell (exec), so supervisor's signals reach it; its values are not copied "
             "here").format(path=p.env_file)
    return shlex.join(["/bin/sh", "-c", inner]), note


def supervisor(p: Project, log_dir: str) -> str:
    """The supervisor [program:x]."""
    command, note = supervisor_command(p)
    # supervisor expands %(...)s in command=: a literal % is written %%
    return _env().get_template("supervisor.conf.j2").render(
        name=p.name, app_dir=p.app_dir, notes=p.notes, env_note=note,
        command=command.replace("%", "%%"), workdir=p.workdir, user=p.user,
        home=pwd.getpwnam(p.user).pw_dir, stop_timeout=commands.GRACEFUL + 10,
        log_dir=log_dir)


def _ident(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def site(p: Project, listen: str) -> str:
    """The nginx server block with its upstream."""
    upstream = f"gd_{_ident(p.name)}"
    ws_paths = [w for w in p.target.websockets if w != "/"]
    ws_map = f"$gd_{_ident(p.name)}_connection" if "/" in p.target.websockets else None
    read_timeout = p.timeout + READ_MARGIN
    env = _env()
    proxy, ws_proxy = (env.get_template("proxy.j2").render(
        app_timeout=p.timeout, read_timeout=timeout, websocket=ws).rstrip("\n")
        for timeout, ws in ((read_timeout, False), (WEBSOCKET_TIMEOUT, True)))
    docs = [d for d in p.target.docs if d != "/"]
    return env.get_template("site.conf.j2").render(
        name=p.name, app_dir=p.app_dir, notes=p.notes, upstream=upstream,
        upstream_server=p.bind, ws_map=ws_map, listen=listen,
        server_name=p.server_name, proxy=proxy, ws_proxy=ws_proxy, docs=docs, ws_paths=ws_paths,
        framework=(p.target.framework or "").replace("fastapi", "FastAPI"))


def default_path(kind: str, p: Project) -> str:
    """Where a unit goes (the others are found from nginx's and supervisord's config)."""
    assert kind == "unit"
    return os.path.join("/etc/systemd/system", f"{p.name}.service")
