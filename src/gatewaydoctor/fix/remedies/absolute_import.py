"""A relative import in a module run as a top-level script (`attempted relative import with
no known parent package`). Both ways out change what the app is: its code (the import made
absolute) or how it is run (as a package from the parent folder). The code change is the one
gatewaydoctor can write exactly — the line the traceback names — so it is offered as a patch
to review, and carried out only with `fix --with-code`; then the service restarts. Another
relative import further on fails the verification, and the run rolls itself back.
"""

from __future__ import annotations

from ...facts import Facts
from ...findings import Finding
from ...i18n import N_, _
from ..edits import change_lines
from ..host import Host
from ..steps import Command, Manual, Step, as_root
from . import remedy


@remedy("relative-import", verify=N_("the app imports and nginx reaches it"))
def absolute_import(cause: Finding, facts: Facts, host: Host) -> list[Step]:
    """The traceback's line `from .x import y` as `from x import y`: a patch to review, or
    (--with-code) the change and the service's restart."""
    v = cause.values
    frame = next((e for e in cause.evidence if e.text.strip() == str(v.get("code", ""))
                  and ":" in e.source), None)
    code, absolute = str(v.get("code", "")), str(v.get("absolute", ""))
    if frame is None or not code.startswith("from .") or not absolute:
        return []
    path, _sep, line = frame.source.rpartition(":")
    change = change_lines(host, path, _("{path}:{line} imports relatively; the unit runs it as "
                                        "a top-level module").format(path=path, line=line),
                          [(int(line), lambda text: text.replace(code, absolute, 1))]) \
        if line.isdigit() else None
    if change is None:
        return []
    restart = v.get("restart")
    if not host.with_code:
        return [Manual(_("a code change, yours to review (or run the code as a package: the "
                         "report's option 2); `gatewaydoctor fix --with-code` applies this "
                         "patch and restarts the service:\n{diff}").format(diff=change.diff()))]
    return [change, *([Command(as_root(restart), _("start it again with the import fixed"))]
                      if isinstance(restart, str) and facts.unit(str(v.get("unit", "")))
                      else [])]
