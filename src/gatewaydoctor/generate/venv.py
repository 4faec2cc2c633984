"""The app's virtualenv: a folder holding `pyvenv.cfg` (any name: venv, .venv, env ...) in the
app folder or its parent, or in a folder of venvs there or in the owner's home (`~/.venvs/`,
`~/.virtualenvs/`), named after the app when there are several; and what it has installed."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass

from ..errors import GatewayDoctorError
from ..i18n import _

SERVERS = ("uvicorn", "gunicorn", "uwsgi")
COLLECTIONS = (".venvs", "venvs", ".virtualenvs", "virtualenvs")


@dataclass(frozen=True)
class Venv:
    """A virtualenv and what it can run."""

    path: str
    python: str
    installed: frozenset[str]  # distribution names, lower case, - as _

    def has(self, name: str) -> bool:
        return name.lower().replace("-", "_") in self.installed

    @property
    def servers(self) -> tuple[str, ...]:
        return tuple(s for s in SERVERS if self.has(s) or self.has("pyuwsgi") and s == "uwsgi")

    def script(self, name: str) -> str:
        return os.path.join(self.path, "bin", name)


def _installed(path: str) -> frozenset[str]:
    names = set()
    for info in glob.glob(os.path.join(glob.escape(path), "lib", "python3*", "site-packages",
                                       "*.dist-info")):
        base = os.path.basename(info)[:-len(".dist-info")]
        names.add(base.rsplit("-", 1)[0].lower().replace("-", "_").replace(".", "_"))
    return frozenset(names)


def load(path: str) -> Venv:
    """The venv at path (its bin/python must be there)."""
    path = os.path.abspath(path)
    python = os.path.join(path, "bin", "python")
    if not os.path.isfile(os.path.join(path, "pyvenv.cfg")) or not os.access(python, os.X_OK):
        raise GatewayDoctorError(_("{path} is not a virtualenv (no pyvenv.cfg or no "
                                   "bin/python)").format(path=path))
    return Venv(path, python, _installed(path))


def _children(folder: str) -> list[str]:
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [os.path.join(folder, n) for n in names
            if os.path.isfile(os.path.join(folder, n, "pyvenv.cfg"))]


def candidates(app_dir: str, home: str | None) -> list[str]:
    """Venvs found for app_dir, nearest first."""
    parent = os.path.dirname(app_dir)
    found = [app_dir] if os.path.isfile(os.path.join(app_dir, "pyvenv.cfg")) else []
    found += _children(app_dir)
    found += [p for p in _children(parent) if p != app_dir]
    if found:
        return found
    name = os.path.basename(app_dir)
    for base in dict.fromkeys(b for b in (app_dir, parent, home) if b):
        for coll in COLLECTIONS:
            inside = _children(os.path.join(base, coll))
            named = [p for p in inside if os.path.basename(p) == name]
            found += named or inside
    return list(dict.fromkeys(found))


def find(app_dir: str, home: str | None, given: str | None = None) -> Venv:
    """The app's venv: --venv, else the one found; two → ask for --venv."""
    if given:
        return load(given)
    found = candidates(app_dir, home)
    if not found:
        raise GatewayDoctorError(_(
            "no virtualenv found for {dir} (a folder with pyvenv.cfg in it or its parent): "
            "create one (`python3 -m venv {dir}/venv`) or name it with --venv").format(
            dir=app_dir))
    if len(found) > 1:
        raise GatewayDoctorError(_("{count} virtualenvs found for {dir}: {listed}; pick one "
                                   "with --venv").format(count=len(found), dir=app_dir,
                                                         listed=", ".join(found)))
    return load(found[0])
