"""Where a plan is made for: this host (its files are read as they are now) or a bundle (the
files its `nginx -T` dump holds), and how nginx is tested and reloaded there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..facts import Facts, nginx_commands
from ..formats.nginx import split_dump


@dataclass(frozen=True)
class Host:
    """What remedies may read of the host the plan is for."""

    live: bool
    nginx: Mapping[str, str]  # nginx_test, nginx_reload, nginx_start, nginx_restart
    dumped: Mapping[str, str] = field(default_factory=dict)  # path -> text, from nginx -T
    # nginx runs in a mount namespace of its own (a container): its files are not edited
    # from here, its image or volume is
    nginx_elsewhere: bool = False
    # `fix --with-code`: a change of the app's code is carried out, not only offered
    with_code: bool = False

    def read(self, path: str) -> bytes | None:
        """The file as it is (live), else as the nginx dump holds it; None if neither."""
        if self.live:
            try:
                return Path(path).read_bytes()
            except OSError:
                return None
        text = self.dumped.get(path)
        return None if text is None else text.encode()

    def stat(self, path: str) -> os.stat_result | None:
        """The file's mode and owner (live only: a bundle keeps no modes)."""
        if not self.live:
            return None
        try:
            return os.stat(path)
        except OSError:
            return None


def host_for(facts: Facts, dump: str | None, live: bool, with_code: bool = False) -> Host:
    """The Host of a diagnosis: nginx's commands as this host runs it, and the dumped files."""
    dumped = dict(split_dump(dump)) if dump else {}
    inside = facts.nginx_control is not None and facts.nginx_control.inside is not None
    return Host(live, nginx_commands(facts.nginx_control), dumped, inside, with_code)
