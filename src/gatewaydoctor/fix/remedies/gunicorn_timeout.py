"""gunicorn killed a worker that outlived --timeout (WORKER TIMEOUT, 502): give gunicorn a
longer --timeout in the unit's ExecStart (a command-line option overrides gunicorn's config
file), then daemon-reload and restart.

The file edited is the one systemd loaded (FragmentPath). A fragment that belongs to a
package (/usr/lib, /lib) is overwritten by the package's next upgrade: there the plan says how
to make a drop-in instead (`systemctl edit`), which is the person's to write.
"""

from __future__ import annotations

import re

from ...facts import Facts
from ...findings import Finding
from ...i18n import N_, _
from ..edits import change_lines
from ..host import Host
from ..steps import Command, Manual, Step
from . import remedy

LONGER = 120  # seconds; gunicorn's default is 30
TIMEOUT_RE = re.compile(r"(--timeout[= ]|-t )(\d+)")
PACKAGED = ("/usr/lib/", "/lib/")


@remedy("gunicorn-worker-timeout", verify=N_("the slow request is answered instead of its "
                                             "worker being killed"))
def longer_timeout(cause: Finding, facts: Facts, host: Host) -> list[Step]:
    """--timeout N becomes --timeout 120 on ExecStart's line (added where it is not set)."""
    unit = facts.unit(str(cause.values.get("unit", "")))
    if unit is None or unit.manager != "systemd" or not unit.fragment_path:
        return []
    path = unit.fragment_path
    if path.startswith(PACKAGED):
        return [Manual(_("{path} belongs to a package: add a drop-in (`systemctl edit "
                         "{unit}`) with [Service], an empty `ExecStart=` and the ExecStart line "
                         "with --timeout {seconds}; then restart it").format(
                             path=path, unit=unit.name, seconds=LONGER),
                       (f"systemctl edit {unit.name}", f"systemctl restart {unit.name}"))]
    text = host.read(path)
    lines = _exec_start_lines(text.decode("utf-8", "replace") if text else "")
    if not lines:
        return []
    # the physical line that names --timeout, else the command's last line (where an option
    # added is still part of it)
    at = next((n for n, line in lines if TIMEOUT_RE.search(line)), lines[-1][0])
    change = change_lines(host, path, _(
        "gunicorn kills a worker whose request runs longer than --timeout; {seconds} s in "
        "{unit}'s ExecStart").format(seconds=LONGER, unit=unit.name), [(at, _longer)])
    if change is None:
        return []
    return [change,
            Command("systemctl daemon-reload", _("systemd must read the unit file again")),
            Command(f"systemctl restart {unit.name}", _("gunicorn starts with the new timeout"),
                    undo=f"systemctl daemon-reload && systemctl restart {unit.name}")]


def _exec_start_lines(text: str) -> list[tuple[int, str]]:
    """The (1-based) lines of the ExecStart= that runs gunicorn, continuation lines (ending in
    a backslash) included."""
    lines = text.splitlines()
    for n, line in enumerate(lines, 1):
        if line.lstrip().startswith("ExecStart=") and "gunicorn" in line:
            out = [(n, line)]
            while out[-1][1].rstrip().endswith("\\") and out[-1][0] < len(lines):
                out.append((out[-1][0] + 1, lines[out[-1][0]]))
            return out
    return []


def _longer(line: str) -> str:
    """The ExecStart line with --timeout LONGER: the number replaced, else the option added."""
    if TIMEOUT_RE.search(line):
        return TIMEOUT_RE.sub(lambda m: f"{m.group(1)}{LONGER}", line, count=1)
    if line.rstrip().endswith("\\"):
        return line  # not the command's last line
    return f"{line.rstrip()} --timeout {LONGER}"
