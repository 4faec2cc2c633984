"""The subcommand's flow: detect, render, then print (a dry run) or validate and write.

Nothing is written unless --write; nothing is written that did not validate; nothing is
replaced without --force, and what --force replaces is kept as
`<file>.gatewaydoctor-<UTC time>.bak` (same mode and owner).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import GatewayDoctorError
from ..i18n import _
from . import render
from .detect import APP_TIMEOUT, Project, Request, detect

KINDS = ("unit", "site", "supervisor")
BACKUP_DIR = "/var/backups/gatewaydoctor"
VERIFY_TIMEOUT = 30.0


@dataclass(frozen=True)
class Plan:
    """A file to write: where, its text, how it was validated, what to run after."""

    path: str | None  # None: could not tell (dry run only)
    text: str
    why_no_path: str = ""
    link: str | None = None  # sites-enabled/NAME.conf → path
    include: Callable[[str], bool] | None = None  # would the config load this file?
    validate: Callable[[], list[str]] | None = None  # warnings; raises when invalid
    then: tuple[str, ...] = ()


def add_options(p: argparse.ArgumentParser) -> None:
    """generate's options."""
    p.add_argument("kind", choices=KINDS, help=_("what to write"))
    p.add_argument("app_dir", nargs="?", default=".", metavar="APP_DIR",
                   help=_("the app's folder (default: the current one)"))
    p.add_argument("--write", action="store_true",
                   help=_("validate, then write the file (default: print it, a dry run)"))
    p.add_argument("--force", action="store_true",
                   help=_("replace an existing file, keeping a backup of it"))
    p.add_argument("--output", metavar="FILE", help=_("write here instead of the usual place"))
    p.add_argument("--name", help=_("the unit, program and site name (default: the folder's)"))
    p.add_argument("--target", metavar="MODULE:ATTR",
                   help=_("the app to serve, when several are found"))
    p.add_argument("--venv", metavar="DIR", help=_("the virtualenv, when it is not found"))
    p.add_argument("--server", choices=("uvicorn", "gunicorn", "uwsgi"),
                   help=_("the app server (default: gunicorn, with uvicorn workers for ASGI, "
                          "else what the venv has)"))
    p.add_argument("--port", type=int, help=_("listen on 127.0.0.1:PORT"))
    p.add_argument("--socket", metavar="PATH", help=_("listen on this unix socket"))
    p.add_argument("--user", help=_("the user the app runs as (default: the folder's owner)"))
    p.add_argument("--env-file", metavar="FILE",
                   help=_("the environment file (default: .env in APP_DIR, if there)"))
    p.add_argument("--server-name", metavar="NAME", help=_("the site's server_name"))
    p.add_argument("--listen", default="80", help=_("the site's listen (default: 80)"))
    p.add_argument("--workers", type=int, default=2, help=_("worker processes (default: 2)"))
    p.add_argument("--timeout", type=int, default=APP_TIMEOUT,
                   help=_("the app server's request timeout in seconds (default: {n}); "
                          "nginx waits longer").format(n=APP_TIMEOUT))


def _request(args: argparse.Namespace) -> Request:
    return Request(app_dir=args.app_dir, name=args.name, target=args.target, venv=args.venv,
                   server=args.server, port=args.port, socket=args.socket, user=args.user,
                   env_file=args.env_file, server_name=args.server_name,
                   workers=args.workers, timeout=args.timeout)


def _verify_unit(name: str, text: str) -> list[str]:
    """`systemd-analyze verify` on a copy under its own name in a temporary folder."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        return [_("systemd-analyze is not installed: the unit was not verified")]
    with tempfile.TemporaryDirectory(prefix="gatewaydoctor-unit-") as tmp:
        copy = os.path.join(tmp, f"{name}.service")
        with open(copy, "w", encoding="utf-8") as fh:
            fh.write(text)
        proc = subprocess.run([tool, "verify", copy], capture_output=True, text=True,
                              timeout=VERIFY_TIMEOUT, check=False)
    said = [line for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
    if proc.returncode != 0:
        raise GatewayDoctorError(_("systemd-analyze verify rejects the unit: {said}").format(
            said=" | ".join(s.replace(copy, f"{name}.service") for s in said)))
    return [s.replace(copy, f"{name}.service") for s in said]


def _unit_plan(p: Project, output: str | None) -> Plan:
    text = render.unit(p)
    return Plan(output or render.default_path("unit", p), text,
                validate=lambda: _verify_unit(p.name, text),
                then=("systemctl daemon-reload", f"systemctl enable --now {p.name}.service",
                      f"systemctl status {p.name}.service --no-pager"))


def _nginx_failed(said: str) -> GatewayDoctorError:
    lines = [line for line in said.splitlines() if "[emerg]" in line or "failed" in line]
    return GatewayDoctorError(_("nginx -t rejects the configuration with the new site: "
                                "{said}").format(said=" | ".join(lines or said.splitlines())))


def _site_plan(p: Project, output: str | None, listen: str) -> Plan:
    from . import nginxsite

    text = render.site(p, listen)
    if output:
        def alone() -> list[str]:
            binary = shutil.which("nginx")
            if binary is None:
                return [_("nginx is not installed: the site was not tested")]
            ok, said = nginxsite.test_alone(binary, text)
            if not ok:
                raise _nginx_failed(said)
            return []
        return Plan(output, text, validate=alone,
                    then=(_("include {path} in nginx's http block, then nginx -t and "
                            "reload").format(path=output),))
    try:
        nginx = nginxsite.find()
        site = nginxsite.site_dir(nginx.conf)
    except GatewayDoctorError as exc:
        return Plan(None, text, why_no_path=str(exc))

    def whole() -> list[str]:
        ok, said = nginxsite.test(nginx, site, p.name, text)
        if not ok:
            raise _nginx_failed(said)
        return []

    enabled = site.path_for(p.name)
    path = os.path.join(site.available, f"{p.name}.conf") if site.available else enabled
    run_nginx = " ".join(nginx.argv + ("-c", nginx.conf))
    return Plan(path, text, link=enabled if site.available else None, include=site.loads,
                validate=whole, then=(f"{run_nginx} -t", f"{run_nginx} -s reload"))


def _supervisor_plan(p: Project, output: str | None) -> Plan:
    from . import supervisorconf

    try:
        sup = supervisorconf.find()
    except GatewayDoctorError as exc:
        if not output:
            return Plan(None, render.supervisor(p, "/var/log/supervisor"),
                        why_no_path=str(exc))
        sup = None
    text = render.supervisor(p, sup.log_dir if sup else "/var/log/supervisor")
    conf = ["-c", sup.conf] if sup else []
    ctl = " ".join(["supervisorctl", *conf])
    return Plan(output or (sup.path_for(p.name) if sup else None), text,
                include=sup.loads if sup else None,
                validate=lambda: _check_supervisor(p, sup.log_dir if sup else None),
                then=(f"{ctl} reread", f"{ctl} update {p.name}", f"{ctl} status {p.name}"))


def _check_supervisor(p: Project, log_dir: str | None) -> list[str]:
    """What supervisord would trip on: the log folder, the socket's folder."""
    warnings: list[str] = []
    if log_dir and not os.path.isdir(log_dir):
        raise GatewayDoctorError(_("the log folder {dir} is not there (supervisord would not "
                                   "start the program): create it").format(dir=log_dir))
    if p.socket and not os.path.isdir(os.path.dirname(p.socket)):
        raise GatewayDoctorError(_("the socket's folder {dir} is not there: create it, owned "
                                   "by {user}").format(dir=os.path.dirname(p.socket),
                                                       user=p.user))
    return warnings


def _backup_path(path: str, plan: Plan) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    backup = f"{path}.gatewaydoctor-{stamp}.bak"
    if plan.include is not None and plan.include(backup):
        # beside it, the configuration would load the backup as well: keep it elsewhere
        os.makedirs(BACKUP_DIR, mode=0o700, exist_ok=True)
        backup = os.path.join(BACKUP_DIR, os.path.basename(backup))
    return backup


def _backup(path: str, plan: Plan) -> str:
    """A copy of path, byte for byte, same mode and owner."""
    backup = _backup_path(path, plan)
    shutil.copy2(path, backup, follow_symlinks=False)
    st = os.lstat(path)
    os.chown(backup, st.st_uid, st.st_gid, follow_symlinks=False)
    return backup


def _replace(path: str, text: str) -> None:
    """Write text to path atomically (a temporary file in the same folder, renamed)."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".gatewaydoctor-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _existing(plan: Plan) -> list[str]:
    assert plan.path is not None
    out = [plan.path] if os.path.lexists(plan.path) else []
    if plan.link and os.path.lexists(plan.link) and not (
            os.path.islink(plan.link) and os.path.realpath(plan.link) ==
            os.path.realpath(plan.path)):
        out.append(plan.link)
    return out


def write(plan: Plan, force: bool) -> list[str]:
    """Validate, back up what is replaced, write; return what to tell the user."""
    if plan.path is None:
        raise GatewayDoctorError(plan.why_no_path)
    existing = _existing(plan)
    if existing and not force:
        raise GatewayDoctorError(_("{path} exists: --force replaces it (keeping a "
                                   "backup)").format(path=existing[0]))
    folder = os.path.dirname(os.path.abspath(plan.path))
    if not os.access(folder, os.W_OK):
        raise GatewayDoctorError(_("cannot write in {dir}: run as a user who may (sudo) or "
                                   "choose --output").format(dir=folder))
    said = plan.validate() if plan.validate else []
    said += [_("kept {path} as {backup}").format(path=p, backup=_backup(p, plan))
             for p in existing]
    _replace(plan.path, plan.text)
    said.append(_("wrote {path}").format(path=plan.path))
    if plan.link:
        if os.path.lexists(plan.link):
            os.unlink(plan.link)
        os.symlink(plan.path, plan.link)
        said.append(_("linked {link} → {path}").format(link=plan.link, path=plan.path))
    return said


def run(args: argparse.Namespace) -> int:
    """Print the file (dry run) or write it."""
    project = detect(_request(args))
    output = os.path.abspath(args.output) if args.output else None
    if args.kind == "unit":
        plan = _unit_plan(project, output)
    elif args.kind == "site":
        plan = _site_plan(project, output, args.listen)
    else:
        plan = _supervisor_plan(project, output)
    if not args.write:
        sys.stdout.write(plan.text)
        _say(_("dry run: this would be written to {path} (--write validates and writes "
               "it)").format(path=plan.path) if plan.path else
             _("dry run; where it would go is not known: {why}").format(why=plan.why_no_path))
        return 0
    for line in write(plan, args.force):
        _say(line)
    _say(_("next: {commands}").format(commands=" && ".join(plan.then)))
    return 0


def _say(line: str) -> None:
    print(f"gatewaydoctor: {line}", file=sys.stderr)
