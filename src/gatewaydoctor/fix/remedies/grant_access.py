"""The service's user may not read, write or enter a path the app needs: give that user the
access (ownership of the file, search on the directory), then restart the service."""

from __future__ import annotations

import stat

from ...facts import Facts
from ...findings import Finding
from ...i18n import N_, _
from ..host import Host
from ..steps import Command, FileChange, Manual, Step, as_root
from . import remedy


@remedy("permission-denied", verify=N_("the service starts, and the app reads what it needs"))
def grant_access(cause: Finding, facts: Facts, host: Host) -> list[Step]:
    """chmod o+x on a directory it cannot enter; else the user owns the path (u+r, u+w for
    writing); then restart with its manager."""
    v = cause.values
    user, target = str(v.get("user", "")), str(v.get("target", ""))
    account = facts.accounts.users.get(user) if facts.accounts else None
    st = host.stat(target) if target else None
    if account is None or st is None or user == "root":
        return [Manual(_("give {user} access to {path} (the owner or mode was not "
                         "gathered here)").format(user=user or "?", path=target or "?"))]
    why = _("{user} may not use {path}").format(user=user, path=target)
    if v.get("search"):
        change = FileChange(target, why, mode=stat.S_IMODE(st.st_mode) | stat.S_IXOTH)
    else:
        wanted = stat.S_IRUSR | (stat.S_IWUSR if v.get("bit") == "w" else 0) | (
            stat.S_IXUSR if stat.S_ISDIR(st.st_mode) else 0)
        change = FileChange(target, why, mode=stat.S_IMODE(st.st_mode) | wanted,
                            owner=account)
    restart = v.get("restart")
    return [change, *([Command(as_root(str(restart)), _("start it again with the access it needs"))]
                      if isinstance(restart, str) else [])]
