"""What several checks ask of the nginx configurations and services: each location that
hands requests to a backend (with the directive that does it), the services that bind an
address, nginx's time values."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..facts import Endpoint, Location, NginxConfig, ServerBlock
from .model import Inputs, ServiceFile

PASSES = ("proxy_pass", "uwsgi_pass")
_TIME_RE = re.compile(r"(\d+)(ms|s|m|h|d|w|M|y)?")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000,
          "y": 31536000, None: 1}


@dataclass(frozen=True)
class Pass:
    """A location's proxy_pass or uwsgi_pass: where it is written and where it goes."""

    config: NginxConfig
    server: ServerBlock
    location: Location
    directive: str  # proxy_pass | uwsgi_pass
    target: str  # as written
    file: str
    line: int

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        """The addresses it reaches (an upstream group's servers expanded)."""
        return self.location.endpoints


def passes(inputs: Inputs) -> Iterator[Pass]:
    """Every proxy_pass / uwsgi_pass of every configuration, once each."""
    seen: set[tuple[str, int]] = set()
    for config in inputs.nginx:
        for server in config.servers:
            for loc in server.locations:
                p = _pass_of(config, server, loc)
                if p is not None and (p.file, p.line) not in seen:
                    seen.add((p.file, p.line))
                    yield p


def _pass_of(config: NginxConfig, server: ServerBlock, loc: Location) -> Pass | None:
    if not loc.proxy_pass:
        return None
    # proxy_pass in the server block itself is a location of its own, with no path
    block = server.directives if loc.handler is None and not loc.path else loc.directives
    own = [d for d in block if d.name in PASSES and d.args]
    if not own:
        return Pass(config, server, loc, "proxy_pass", loc.proxy_pass, loc.file, loc.line)
    d = own[-1]
    return Pass(config, server, loc, d.name, d.args[0], d.file, d.line)


def serving(inputs: Inputs, target: Endpoint) -> list[ServiceFile]:
    """The services whose binds receive connections made to target."""
    return [s for s in inputs.services if any(b.accepts(target) for b in s.binds)]


def seconds(value: str) -> float | None:
    """An nginx time (`3s`, `1m30s`, `60`) in seconds; None when it is not one."""
    parts = _TIME_RE.findall(value.strip())
    if not parts or "".join(n + (u or "") for n, u in parts) != value.strip().replace(" ", ""):
        return None
    return sum(int(n) * _UNITS[u or None] for n, u in parts)


def option(args: list[str], name: str) -> str | None:
    """The last value of a command-line option (`--timeout 30`, `--timeout=30`, `-t 30`)."""
    value = None
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            value = args[i + 1]
        elif a.startswith(name + "="):
            value = a.split("=", 1)[1]
    return value
