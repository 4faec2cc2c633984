"""Everything a generated file needs, detected from the app folder (never a default path
guessed blindly): the venv, the app target, the server, where it listens, the env file, the
user it runs as."""

from __future__ import annotations

import ast
import os
import pwd
import re
import shlex
import socket
from dataclasses import dataclass

from ..errors import GatewayDoctorError
from ..formats import execspec
from ..formats.systemd import exec_argvs, parse_env_file
from ..i18n import _
from . import target as target_mod
from . import venv as venv_mod

APP_TIMEOUT = 60  # the server's worker timeout (gunicorn --timeout, uwsgi harakiri), s
FIRST_PORT = 8000
# where a unit or supervisor program of the same name would have been written before
WRITTEN = ("/etc/systemd/system/{name}.service", "/etc/supervisor/conf.d/{name}.conf")
GUNICORN_CONFS = ("gunicorn.conf.py", "gunicorn_conf.py", "gunicorn_config.py", "gunicorn.py")


@dataclass(frozen=True)
class Request:
    """What the user asked for (the command line's options)."""

    app_dir: str
    name: str | None = None
    target: str | None = None
    venv: str | None = None
    server: str | None = None
    port: int | None = None
    socket: str | None = None
    user: str | None = None
    env_file: str | None = None
    server_name: str | None = None
    workers: int = 2
    timeout: int = APP_TIMEOUT


@dataclass(frozen=True)
class Project:
    """The app as detected; `notes` says where each value came from."""

    name: str
    app_dir: str
    workdir: str
    target: target_mod.Target
    venv: venv_mod.Venv
    server: str  # uvicorn | gunicorn | uwsgi
    bind: str  # host:port or unix:/path
    env_file: str | None
    user: str
    group: str
    server_name: str
    workers: int
    timeout: int
    notes: tuple[str, ...]

    @property
    def socket(self) -> str | None:
        return self.bind[5:] if self.bind.startswith("unix:") else None

    @property
    def pythonpath(self) -> str | None:
        """The import root when it is not the working directory (a src/ layout)."""
        return None if self.target.root == self.workdir else self.target.root


def _name(app_dir: str, given: str | None) -> str:
    raw = given or os.path.basename(app_dir.rstrip("/")) or "app"
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", raw).strip("-.")
    if not name or (given and name != given):
        raise GatewayDoctorError(_("--name {name!r}: use letters, digits, ., - and _ "
                                   "only").format(name=given or raw))
    return name


def _user(app_dir: str, given: str | None) -> tuple[str, str, str]:
    """(user, group, why) — the owner of app_dir unless root; root only when asked."""
    if given:
        try:
            entry = pwd.getpwnam(given)
        except KeyError:
            raise GatewayDoctorError(_("--user {user}: no such user").format(user=given)) from None
        why = _("--user")
    else:
        entry = pwd.getpwuid(os.stat(app_dir).st_uid)
        why = _("the owner of {dir}").format(dir=app_dir)
        if entry.pw_uid == 0:
            raise GatewayDoctorError(_(
                "{dir} is owned by root: name the user the app runs as with --user NAME (an "
                "app server running as root hands every bug in the app the whole machine; "
                "--user root if you really mean it)").format(dir=app_dir))
    import grp

    try:
        group = grp.getgrgid(entry.pw_gid).gr_name
    except KeyError:
        group = str(entry.pw_gid)
    return entry.pw_name, group, why


def _gunicorn_bind(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "bind" for t in node.targets):
            value = node.value
            if isinstance(value, (ast.List, ast.Tuple)) and value.elts:
                value = value.elts[0]
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value
    return None


def _procfile_bind(path: str, env: dict[str, str]) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    for line in lines:
        kind, sep, command = line.partition(":")
        if sep and kind.strip() == "web":
            command = re.sub(r"\$\{?PORT\}?", env.get("PORT", ""), command)
            for argv in exec_argvs(command):
                found = execspec.binds(argv) if "$" not in " ".join(argv) else []
                if found and not found[0].endswith(":"):
                    return found[0]
    return None


def _free_port(host: str = "127.0.0.1") -> int:
    for port in range(FIRST_PORT, FIRST_PORT + 1000):
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise GatewayDoctorError(_("no free port from {first} on {host}: pass --port").format(
        first=FIRST_PORT, host=host))


def unit_bind(name: str, places: tuple[str, ...] = WRITTEN) -> str | None:
    """Where a unit or program of this name, written before (by us or by hand), binds: the
    site generated after the unit must proxy to the port the unit took."""
    for place in places:
        path = place.format(name=name)
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError:
            continue
        for line in text.replace("\\\n", " ").splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() in ("ExecStart", "command"):
                argv = execspec.server_argv(_unwrapped(value))
                if argv:
                    return execspec.binds(argv)[0]
    return None


def _unwrapped(command: str) -> str:
    """The server's command inside the `sh -c '... && exec SERVER ...'` wrapper the
    supervisor program uses to read the env file."""
    try:
        argv = shlex.split(command)
    except ValueError:
        return command
    if len(argv) == 3 and os.path.basename(argv[0]) in ("sh", "bash") and argv[1] == "-c":
        return argv[2].rsplit("exec ", 1)[-1]
    return command


def _bind(req: Request, env: dict[str, str], name: str) -> tuple[str, str]:
    """(bind, where it came from)."""
    if req.port and req.socket:
        raise GatewayDoctorError(_("--port and --socket: give one of them"))
    if req.socket:
        if not req.socket.startswith("/"):
            raise GatewayDoctorError(_("--socket must be an absolute path"))
        return "unix:" + req.socket, _("--socket")
    if req.port:
        return f"127.0.0.1:{req.port}", _("--port")
    for conf in GUNICORN_CONFS:
        found = _gunicorn_bind(os.path.join(req.app_dir, conf))
        if found:
            return _loopback(found), conf
    found = _procfile_bind(os.path.join(req.app_dir, "Procfile"), env)
    if found:
        return _loopback(found), "Procfile"
    if env.get("PORT", "").isdigit():
        return f"127.0.0.1:{env['PORT']}", _(".env PORT")
    found = unit_bind(name)
    if found:
        return found, _("the existing {name} unit or program").format(name=name)
    return f"127.0.0.1:{_free_port()}", _("a free port (--port to choose)")


def _loopback(bind: str) -> str:
    """The same port on 127.0.0.1: nginx is in front, the app need not face the network."""
    if bind.startswith("unix:"):
        return bind
    return "127.0.0.1:" + bind.rsplit(":", 1)[-1]


def _env(app_dir: str, given: str | None) -> tuple[str | None, dict[str, str]]:
    path = given or os.path.join(app_dir, ".env")
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            pairs = parse_env_file(fh.read())
    except OSError as exc:
        if given:
            raise GatewayDoctorError(_("--env-file {path}: {error}").format(
                path=given, error=exc.strerror)) from None
        return None, {}
    return os.path.abspath(path), dict(pairs)


def _server(req: Request, kind: str | None, venv: venv_mod.Venv) -> str:
    have = venv.servers
    if req.server:
        if req.server not in have:
            raise GatewayDoctorError(_("--server {server}: not installed in {venv} (it has: "
                                       "{have})").format(server=req.server, venv=venv.path,
                                                         have=", ".join(have) or "none"))
        if kind == "asgi" and req.server == "uwsgi":
            raise GatewayDoctorError(_("uWSGI does not run ASGI apps: use uvicorn or gunicorn"))
        return req.server
    if kind is None:
        raise GatewayDoctorError(_("cannot tell whether the app is ASGI or WSGI: pass --server "
                                   "uvicorn (ASGI) or gunicorn (WSGI)"))
    if kind == "asgi":
        order = ("gunicorn", "uvicorn") if "uvicorn" in have else ()
    else:
        order = ("gunicorn", "uwsgi")
    found = next((s for s in order if s in have), None)
    if found is None:
        need = "uvicorn" if kind == "asgi" else "gunicorn"
        raise GatewayDoctorError(_("{venv} has no server for this {kind} app: install one "
                                   "(`{venv}/bin/pip install {need}`)").format(
            venv=venv.path, kind=kind.upper(), need=need))
    return found


def detect(req: Request) -> Project:
    """Detect the project under req.app_dir; one clear error for whatever is missing."""
    app_dir = os.path.abspath(req.app_dir)
    if not os.path.isdir(app_dir):
        raise GatewayDoctorError(_("{dir} is not a folder").format(dir=app_dir))
    req = Request(**{**req.__dict__, "app_dir": app_dir})
    name = _name(app_dir, req.name)
    user, group, user_why = _user(app_dir, req.user)
    home = pwd.getpwnam(user).pw_dir
    tgt = target_mod.find(app_dir, req.target)
    venv = venv_mod.find(app_dir, home, req.venv)
    server = _server(req, tgt.kind, venv)
    env_file, env = _env(app_dir, req.env_file)
    bind, bind_why = _bind(req, env, name)
    # the package's parent when the app's imports need it (above app_dir), else app_dir
    workdir = tgt.root if not tgt.root.startswith(app_dir + os.sep) else app_dir
    notes = (
        _("app: {target} ({file}:{line}, {kind}{rel})").format(
            target=tgt.spec, file=tgt.file, line=tgt.line, kind=(tgt.kind or "?").upper(),
            rel=_(", relative imports: run from the package's parent") if tgt.relative else ""),
        _("venv: {venv} (servers: {servers})").format(
            venv=venv.path, servers=", ".join(venv.servers) or "none"),
        _("listens on: {bind} ({why})").format(bind=bind, why=bind_why),
        _("user: {user} ({why})").format(user=user, why=user_why),
        _("env file: {path}").format(path=env_file or _("none")),
    )
    return Project(name=name, app_dir=app_dir, workdir=workdir, target=tgt, venv=venv,
                   server=server, bind=bind, env_file=env_file, user=user, group=group,
                   server_name=req.server_name or "_", workers=req.workers,
                   timeout=req.timeout, notes=notes)

