"""The running nginx still uses an older configuration than the files on disk."""

from __future__ import annotations

import time
from collections.abc import Iterator

from ...facts import (
    ErrorLogEntry,
    FileStamp,
    Location,
    NginxConfig,
    NginxRuntime,
    Probe,
    ServerBlock,
)
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Text, found

# /proc start times are in clock ticks from an uptime-derived boot time: allow for rounding.
RELOAD_SLACK = 0.25


@rule(id="GD-NGX-005", symbol="not-reloaded", category="nginx.not_reloaded",
      severity=Severity.ERROR, layer="nginx",
      explains=("nginx.upstream_mismatch", "upstream.unreachable", "probe.failed"),
      title=N_("The running nginx still uses an older configuration than the one on disk"),
      texts=Text(
          title=N_("nginx was not reloaded after {files} changed"),
          explanation=(
              N_("{files} changed on disk after the running nginx read its configuration "
                 "({loaded}), so nginx still serves the old one."),
              N_("The running nginx still sends requests to {old}, while the files say "
                 "{new}."),
              N_("`nginx -T` shows the files, not what nginx runs.")),
          fix=N_("Test the configuration on disk and reload nginx so it takes effect."),
          commands=("{nginx_test} && {nginx_reload}",)))
def not_reloaded(nginx_config: NginxConfig, nginx_runtime: NginxRuntime,
                 nginx_errors: tuple[ErrorLogEntry, ...] = (),
                 probes: tuple[Probe, ...] = ()) -> Iterator[Found]:
    """A config file changed after nginx last read its configuration, and nginx's traffic
    shows the old configuration (upstreams the files no longer name, or failing requests)."""
    changed = _changed(nginx_runtime)
    stale = _stale(nginx_config, nginx_errors)
    failing = _failing(probes)
    if not changed or not (stale or failing):
        return
    paths = {f.path for f in changed}
    uses = [(s, loc) for s, loc in nginx_config.proxied_locations() if loc.file in paths]
    new = list(dict.fromkeys(ep.label for _s, loc in uses for ep in loc.endpoints))
    yield found(_reloads(nginx_runtime, changed, uses[:2]) + _traffic(stale, failing, probes, new),
                [Link("unit", "nginx.service"), *_links(uses[:2])],
                files=", ".join(sorted(paths)), loaded=_utc(nginx_runtime.loaded_at),
                old=stale[-1].upstream_label if stale else None, new=", ".join(new))


def _changed(rt: NginxRuntime) -> list[FileStamp]:
    """The configuration files modified after nginx last loaded its configuration."""
    loaded = rt.loaded_at
    if loaded is None:
        return []
    return [f for f in rt.files if f.mtime is not None and f.mtime > loaded + RELOAD_SLACK]


def _failing(probes: tuple[Probe, ...]) -> list[Probe]:
    """Requests through nginx that failed."""
    return [p for p in probes if p.via in ("nginx", "url") and p.failed]


def _stale(config: NginxConfig, errors: tuple[ErrorLogEntry, ...]) -> list[ErrorLogEntry]:
    """nginx error lines naming a host:port upstream the files on disk no longer name."""
    known = set(config.targets()) | {u.name for u in config.upstreams}
    return [e for e in errors if (label := e.upstream_label) is not None and ":" in label
            and label not in known]


def _traffic(stale: list[ErrorLogEntry], failing: list[Probe], probes: tuple[Probe, ...],
             on_disk: list[str]) -> list[Excerpt]:
    """nginx's last line to an old upstream, a failing request, and the app answering where
    the files on disk point."""
    answering = [p for p in probes if p.via == "upstream" and p.endpoint in on_disk
                 and p.status and p.status < 400]
    return ([Excerpt(e.where, e.raw) for e in stale[-1:]] + [_probed(p) for p in failing[:1]]
            + [Excerpt(p.where, f"{p.outcome}: the app answers where the files on "
                       "disk point") for p in answering[:1]])


def _reloads(rt: NginxRuntime, changed: list[FileStamp],
             uses: list[tuple[ServerBlock, Location]]) -> list[Excerpt]:
    """Which files changed after nginx loaded its configuration, when nginx started, and
    what the changed locations say on disk."""
    loaded = rt.loaded_at
    evidence = [Excerpt(rt.source, f"{f.path} modified {_utc(f.mtime)}, after nginx last loaded "
                        f"its configuration ({_utc(loaded)})") for f in changed[:3]]
    if rt.master is not None:
        evidence.append(Excerpt(rt.source, f"nginx master pid {rt.master.pid} started "
                                f"{_utc(rt.master.start_time)}; newest worker started "
                                f"{_utc(loaded)}"))
    return evidence + [Excerpt(loc.where, f"on disk: location {loc.path} {{ proxy_pass "
                               f"{loc.proxy_pass}; }}") for _s, loc in uses]


def _links(uses: list[tuple[ServerBlock, Location]]) -> list[Link]:
    """The server, location and upstreams of each changed location."""
    return [link for s, loc in uses for link in (
        Link("server", s.label), loc.link, *(Link("upstream", ep.label) for ep in loc.endpoints))]


def _probed(p: Probe) -> Excerpt:
    return Excerpt(p.where, p.outcome + (f" after {p.elapsed:.1f}s" if p.elapsed
                                                    and p.error else ""))


def _utc(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t)) if t is not None else "?"
