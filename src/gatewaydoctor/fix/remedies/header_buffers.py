"""The app's response headers do not fit nginx's header buffer (502 `upstream sent too big
header`): give that location bigger buffers, consistent with each other as nginx requires,
test, reload. Only the location that failed changes; a wider setting is left as it is."""

from __future__ import annotations

import re
from collections.abc import Callable

from ...facts import Facts, Location
from ...findings import Finding
from ...i18n import N_, _
from ..edits import change_lines, indent_of
from ..host import Host
from ..steps import Command, Step
from . import remedy

HEADER_BUFFER_K = 16  # nginx's default is one memory page (4k or 8k); 16k holds an 8 KB cookie


@remedy("header-too-big", verify=N_("the app's answer passes nginx instead of a 502"))
def bigger_buffers(cause: Finding, facts: Facts, host: Host) -> list[Step]:
    """`X_buffer_size`, `X_buffers` and `X_busy_buffers_size` set in each location whose
    answers nginx refused (X: proxy or uwsgi, whichever passes the request there)."""
    places = cause.values.get("at_locations") or (cause.values.get("at_location"),)
    locs = [loc for loc in places if isinstance(loc, Location)] \
        if isinstance(places, tuple) else []
    if not locs or facts.nginx_config is None or host.nginx_elsewhere:
        return []
    k = _size_k(str(cause.values.get("size", "")))
    by_file: dict[str, list[tuple[int, Callable[[str], str]]]] = {}
    for loc in locs:
        by_file.setdefault(loc.file, []).extend(_set_buffers(loc, k))
    where = ", ".join(loc.where for loc in locs)
    why = _("the app's response headers are larger than {prefix}_buffer_size; {k}k buffers "
            "in {where}").format(prefix=_prefix(locs[0]), k=k, where=where)
    changes = [c for path, edits in by_file.items()
               if (c := change_lines(host, path, why, edits)) is not None]
    if not changes:
        return []
    return [*changes, Command(host.nginx["nginx_test"], _("nginx must accept the change")),
            Command(host.nginx["nginx_reload"], _("load it into the running nginx"),
                    undo=host.nginx["nginx_reload"])]


def _size_k(current: str) -> int:
    """The new header buffer in KB: HEADER_BUFFER_K, or twice the one in force if that is
    already as big (the header did not fit it)."""
    m = re.fullmatch(r"(\d+)([kKmM]?)", current.strip())
    now = (int(m.group(1)) * (1024 if m.group(2) in ("m", "M") else 1) if m and m.group(2)
           else int(m.group(1)) // 1024 if m else 0)
    return max(HEADER_BUFFER_K, now * 2)


def buffer_lines(prefix: str, k: int) -> dict[str, str]:
    """The three directives, sized as nginx requires: busy_buffers_size at least the larger of
    buffer_size and one of the buffers, and less than all the buffers but one
    (8 buffers of k: 2k busy is well inside)."""
    return {f"{prefix}_buffer_size": f"{prefix}_buffer_size {k}k;",
            f"{prefix}_buffers": f"{prefix}_buffers 8 {k}k;",
            f"{prefix}_busy_buffers_size": f"{prefix}_busy_buffers_size {2 * k}k;"}


def _prefix(loc: Location) -> str:
    return "uwsgi" if loc.pass_name == "uwsgi_pass" else "proxy"


def _set_buffers(loc: Location, k: int) -> list[tuple[int, Callable[[str], str]]]:
    """The location's own lines rewritten, the missing ones added after `location ... {`."""
    wanted = buffer_lines(_prefix(loc), k)
    own = {d.name: d for d in loc.directives if d.name in wanted and d.file == loc.file}
    changes = [(d.line, _rewrite(name, wanted[name])) for name, d in own.items()]
    missing = [text for name, text in wanted.items() if name not in own]

    def add(line: str) -> str:
        if not missing or not line.split("#", 1)[0].rstrip().endswith("{"):
            return line  # the block opens on another line: not guessed
        return "\n".join([line, *(f"{indent_of(line)}    {text}" for text in missing)])

    return [*changes, (loc.line, add)]


def _rewrite(name: str, text: str) -> Callable[[str], str]:
    """A line change setting one directive's value."""
    def change(line: str) -> str:
        return re.sub(rf"\b{name}\s+[^;]+;", text, line, count=1)
    return change
