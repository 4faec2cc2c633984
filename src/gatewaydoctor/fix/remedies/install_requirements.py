"""A package the app imports is missing from the Python the service runs: install the app's
requirements into the service's own virtualenv (never the system's Python), as the venv's
owner, with the package index that venv is set up to use (pip reads the venv's own pip.conf
and its owner's), then restart the service."""

from __future__ import annotations

import shlex

from ...facts import Facts, Unit
from ...findings import Finding
from ...i18n import N_, _
from ..host import Host
from ..steps import Command, Manual, Step, as_root
from . import remedy


@remedy("missing-dependency", verify=N_("the app imports, the service runs, nginx reaches it"))
def install_requirements(cause: Finding, facts: Facts, host: Host) -> list[Step]:
    """`VENV/bin/python -m pip install -r requirements.txt` as the venv's owner, restart."""
    v = cause.values
    unit = facts.unit(str(v.get("unit", "")))
    if unit is None or unit.manager == "container":
        return []  # a container's packages come from its image (the rule says how)
    venv = _venv(host, unit, str(v.get("python", "")))
    requirements = v.get("requirements")
    if venv is None or not isinstance(requirements, str):
        return [Manual(_("{unit} does not run a virtualenv's Python, or the app has no "
                         "requirements.txt: install '{module}' into the Python it runs with "
                         "that Python's own package manager, never `sudo pip` into the "
                         "system's").format(unit=unit.name, module=v.get("module", "?")))]
    st = host.stat(venv)
    owner = facts.accounts.user_name(st.st_uid) if st and facts.accounts else "root"
    pip = (f"{venv}/bin/python -m pip install --disable-pip-version-check -r "
           f"{shlex.quote(requirements)}")
    if owner not in ("root", "0"):
        pip = f"runuser -u {owner} -- {pip}"
    restart = v.get("restart")
    if unit.manager == "process" and not unit.exec_start:
        restart = None  # a gone server started by hand: its command line is not known
    again: list[Step] = [Command(as_root(restart), _("start it again with its packages"))] \
        if isinstance(restart, str) else [Manual(_("start {unit} again as it was started")
                                                 .format(unit=unit.name))]
    return [Command(pip, _("{module} is missing from {venv}; install what the app requires "
                           "there, as its owner {owner}").format(
                               module=v.get("module", "?"), venv=venv, owner=owner),
                    timeout=600.0), *again]


def _venv(host: Host, unit: Unit, python: str) -> str | None:
    """The virtualenv the unit runs: the folder above the `bin/` of its interpreter or of its
    ExecStart's program, holding pyvenv.cfg."""
    programs = [python, *(argv[0] for argv in unit.exec_start[:1] if argv)]
    for program in programs:
        folder, _, _name = program.rpartition("/")
        if folder.endswith("/bin"):
            venv = folder[:-len("/bin")]
            if host.stat(f"{venv}/pyvenv.cfg") is not None:
                return venv
    return None
