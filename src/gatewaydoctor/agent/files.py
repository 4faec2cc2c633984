"""Owners and modes of the files a service was denied, and the host's account names.

Standard library only. Reads /etc/passwd and /etc/group through pwd/grp (names,
ids and group members: no password hashes exist there), and stat()s paths; it
never opens the files themselves.
"""

import grp
import os
import pwd
import re
from typing import Dict, Iterable, List

from ..formats import journal, sources
from .runner import Item, new_item

MAX_ACCOUNTS = 2000
MAX_DENIED_PATHS = 6
DENIED_RE = re.compile(r"Permission denied: '(/[^']{1,4000})'")


def accounts(source: str) -> Item:
    """Users (name, uid, primary gid) and groups (name, gid, members) of this host."""
    item = new_item(source, "file", path="/etc/passwd")
    try:
        users = [{"name": p.pw_name, "uid": p.pw_uid, "gid": p.pw_gid}
                 for p in pwd.getpwall()[:MAX_ACCOUNTS]]
        groups = [{"name": g.gr_name, "gid": g.gr_gid, "members": list(g.gr_mem)}
                  for g in grp.getgrall()[:MAX_ACCOUNTS]]
    except OSError as exc:
        item.update(error=f"cannot read the account database: {exc}", error_kind="failed")
        return item
    item["data"] = {"users": users, "groups": groups}
    return item


def path_stat(source: str, path: str) -> Item:
    """stat() path and each of its parent directories (owner, group, mode; no contents)."""
    item = new_item(source, "listing", path=path)
    chain = []
    current = os.path.normpath(path)
    while True:
        entry: Dict[str, object] = {"path": current, "exists": False}
        try:
            st = os.stat(current)
            entry.update(exists=True, uid=st.st_uid, gid=st.st_gid, mode=st.st_mode)
        except FileNotFoundError:
            pass
        except OSError as exc:
            entry["error"] = exc.strerror or str(exc)
        chain.append(entry)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    item["data"] = {"chain": chain}
    return item


def _texts(item: Item) -> Iterable[str]:
    source = str(item.get("source", ""))
    if source.startswith(sources.UNIT_JOURNAL_PREFIX):
        for rec in journal.records(item.get("stdout") or ""):
            msg = rec.get("MESSAGE")
            if isinstance(msg, str):
                yield msg
    elif source.startswith(sources.IMPORT_PROBE_PREFIX):
        yield from (item.get("stderr") or "").splitlines()
    elif source.startswith(sources.UWSGI_LOG_PREFIX):  # uWSGI's `logto` file
        yield from (item.get("stdout") or "").splitlines()


def denied_paths(items: Iterable[Item]) -> List[str]:
    """Absolute paths named by `Permission denied: '<path>'` in unit journals, import probes
    and uWSGI logs.

    Newest first (a journal is read oldest first), at most MAX_DENIED_PATHS.
    """
    found: List[str] = []
    for item in items:
        for text in _texts(item):
            for m in DENIED_RE.finditer(text):
                found.append(m.group(1))
    unique = list(dict.fromkeys(reversed(found)))
    return unique[:MAX_DENIED_PATHS]
