"""The systemd units of the local database server an app's DSN names: which exist, and
whether they run. Read-only (`systemctl list-units`, `list-unit-files`, `show`), each call
under a timeout; standard library only.

A DSN names a server kind (its scheme) and a host; only a local host (localhost, a loopback
address, a unix socket folder) says the server is one of this host's units. Debian's
`postgresql.service` is a wrapper (a oneshot that stays "active (exited)") whose
`postgresql@VER-main` instances run the clusters: every unit matching the kind is kept, so
the instance that is actually stopped can be told apart from its wrapper.
"""

from typing import Any, Dict, List, Optional, Tuple

from ..formats import systemd
from .runner import Item, new_item, run

TIMEOUT = 10.0
# The units of each server kind, by the DSN's scheme (`postgresql+asyncpg` -> postgresql).
PATTERNS = {"postgresql": ("postgresql*",), "postgres": ("postgresql*",),
            "mysql": ("mysql*", "mariadb*"), "mariadb": ("mariadb*", "mysql*"),
            "redis": ("redis*",), "rediss": ("redis*",)}
LOCAL_HOSTS = ("", "localhost", "127.0.0.1", "::1")
PROPERTIES = "Id,LoadState,ActiveState,SubState,Result,UnitFileState,Description"


def patterns(scheme: str, host: Optional[str]) -> Tuple[str, ...]:
    """The unit patterns to look at for a DSN's scheme and host; () when it is not local."""
    local = host is None or host in LOCAL_HOSTS or host.startswith("127.") or \
        host.startswith("/")
    return PATTERNS.get(scheme.partition("+")[0].lower(), ()) if local else ()


def units(source: str, unit: str, wanted: Tuple[str, ...]) -> Item:
    """The units matching `wanted` (loaded, or only installed), with their state."""
    names: List[str] = []
    for argv in (["systemctl", "list-units", "--all", "--plain", "--no-legend",
                  "--type=service", *wanted],
                 ["systemctl", "list-unit-files", "--plain", "--no-legend", "--type=service",
                  *wanted]):
        listed = run(source, argv, timeout=TIMEOUT)
        for line in (listed.get("stdout") or "").splitlines():
            name = line.split()[0] if line.split() else ""
            # a template (`postgresql@.service`) is not a unit that runs
            if name.endswith(".service") and not name.endswith("@.service") and \
                    name not in names:
                names.append(name)
    found: List[Dict[str, Any]] = []
    if names:
        shown = run(source, ["systemctl", "show", "-p", PROPERTIES, "--", *names],
                    timeout=TIMEOUT)
        found = [{k: props.get(k, "") for k in PROPERTIES.split(",")}
                 for props in systemd.parse_show(shown.get("stdout") or "")]
    return new_item(source, "listing", argv=["systemctl", "show", "-p", PROPERTIES, *wanted],
                    data={"unit": unit, "patterns": list(wanted), "units": found})
