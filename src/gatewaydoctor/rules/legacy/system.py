"""Rules about the host under the app: the OOM killer, a full disk, a server run by hand."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

from ...facts import Endpoint, Facts, JournalEntry, Unit
from ...findings import Excerpt, Fix, Hit, Link, Severity
from ...i18n import N_, _
from ..registry import rule
from .common import EXITED_RE, units_serving

OOM_RE = re.compile(r"(Out of memory|Memory cgroup out of memory): Killed process (\d+) "
                    r"\(([^)]+)\)")
OOM_UNIT_RE = re.compile(r"A process of this unit has been killed by the OOM killer"
                         r"|Failed with result 'oom-kill'")
ENOSPC_RE = re.compile(r"\[Errno 28\] No space left on device(?:: '([^']+)')?"
                       r"|\(28: No space left on device\)")
# A kill and the unit noticing it land within this many seconds of each other.
OOM_WINDOW = 15.0
DISK_LOW_BYTES = 50 * 1024 * 1024
LINKED_EXPLAINS = ("app.startup_failed", "service.crash_loop", "service.start_limit_hit",
                   "service.not_running", "upstream.unreachable", "probe.failed")


def _relevant_units(facts: Facts) -> list[Unit]:
    return [u for u in facts.units or () if u.is_web_app]


def _killed_exits(facts: Facts, unit: Unit) -> list[JournalEntry]:
    out = []
    for e in facts.journal_of(unit.name):
        m = EXITED_RE.search(e.message)
        if (m and m.group(1) == "killed" and m.group(2).startswith("9")) or \
                OOM_UNIT_RE.search(e.message):
            out.append(e)
    return out


def _kernel_kills(facts: Facts) -> list[JournalEntry]:
    return [e for e in facts.journal or () if e.unit is None and OOM_RE.search(e.message)]


def _access_time(text: str) -> float | None:
    try:
        return datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z").timestamp()
    except ValueError:
        return None


def _stopped_at(facts: Facts, unit: Unit) -> float | None:
    for e in reversed(facts.journal_of(unit.name)):
        if e.message.startswith(("Stopped ", "Deactivated successfully")) or \
                e.message.endswith("Deactivated successfully."):
            return e.time
    return None


def _local(ep: Endpoint) -> bool:
    return ep.path is not None or (ep.host or "") in ("127.0.0.1", "localhost", "::1", "*",
                                                       "0.0.0.0", "::")


@rule(id="GD-SYS-003", symbol="unmanaged-server-gone", category="service.not_running",
      severity=Severity.ERROR, needs=("nginx_config", "listeners", "units"), layer="app",
      explains=("upstream.unreachable", "probe.failed"),
      title=N_("The server was run outside any unit and is gone"))
def unmanaged_server_gone(facts: Facts) -> Iterator[Hit]:
    """Nothing listens at proxy_pass, no running unit manages it, and it served outside a unit."""
    config = facts.nginx_config
    assert config is not None
    if any(u.active_state == "active" for u in facts.web_units()):
        return  # a unit runs the app (maybe elsewhere): the nginx rules speak for that
    seen: set[str] = set()
    for _server, loc in config.proxied_locations():
        for ep in loc.endpoints:
            if ep.label in seen or not _local(ep) or facts.listeners_at(ep):
                continue
            seen.add(ep.label)
            serving = units_serving(facts, ep)
            if any(u.name.startswith("supervisor:") for u in serving):
                continue  # supervisord manages it: the supervisor rule speaks for it
            if any(u.active_state in ("active", "activating", "reloading") or
                   u.sub_state == "auto-restart" for u in serving):
                continue  # a unit is (re)starting it: the service rules speak for it
            stopped = max((t for t in (_stopped_at(facts, u) for u in serving) if t), default=None)
            paths = {loc2.path for _s, loc2 in config.proxied_locations() if ep in loc2.endpoints}
            served = [a for a in facts.access_log or ()
                      if a.status < 500 and any(a.path.startswith(p) for p in paths if p)
                      and (t := _access_time(a.time)) is not None
                      and (stopped is None or t >= stopped)]
            nohup = [f"{d.path.rstrip('/')}/nohup.out" for d in facts.listings or ()
                     if "nohup.out" in d.names]
            if not served and not nohup:
                continue
            evidence = [Excerpt(loc.where, f"location {loc.path} {{ proxy_pass "
                                           f"{loc.proxy_pass}; }}"),
                        Excerpt(facts.socket_table(ep), f"no process listens at {ep.label}")]
            if serving:
                for u in serving:
                    evidence.append(Excerpt(u.source, f"{u.name} binds {ep.label} but is "
                                            f"{u.active_state}/{u.sub_state} "
                                            f"(UnitFileState={u.unit_file_state}): no unit "
                                            "manages the server"))
            else:
                evidence.append(Excerpt("systemctl show", f"no systemd unit runs a server at "
                                        f"{ep.label}"))
            if served:
                last = served[-1]
                after = " after the unit stopped" if stopped else ""
                evidence.append(Excerpt(last.where, f"{last.raw}   (answered{after}: "
                                        "a server outside any unit)"))
            for path in nohup[:1]:
                evidence.append(Excerpt(path, "nohup.out: a server was started by hand "
                                        "with nohup"))
            errors = [e for e in facts.nginx_errors or () if e.upstream and
                      f"//{ep.label}" in e.upstream]
            if errors:
                evidence.append(Excerpt(errors[-1].where, errors[-1].raw))
            unit = serving[0] if serving else None
            commands = [f"tail -n 50 {nohup[0]}   # "
                        + _("why the hand-started server died")] if nohup else []
            if unit is not None:
                commands += [f"systemctl enable --now {unit.name}",
                             f"systemctl status {unit.name} --no-pager"]
            else:
                commands += ["# " + _("write a unit ({settings}), then: {command}").format(
                    settings="User=, WorkingDirectory=, ExecStart=<venv>/bin/uvicorn main:app "
                             f"--host {ep.host} --port {ep.port}, Restart=always",
                    command="systemctl enable --now <name>.service")]
            yield Hit(
                title=_("Nothing listens at {address} and no unit manages it: the server run "
                        "by hand is gone").format(address=ep.label),
                evidence=tuple(evidence),
                explanation=_(
                    "nginx proxies {path} to {address}. A server there answered "
                    "while no systemd unit ran it (started by hand, with nohup or in a "
                    "terminal), and it has died or was killed: nothing restarts it, so nginx "
                    "answers 502 until someone starts it again."
                ).format(path=loc.path or "/", address=ep.label),
                fix=Fix(
                    summary=(_("Run the backend under its systemd unit (Restart=always) instead "
                               "of by hand.") if unit else _("Run the backend under a systemd "
                               "unit with Restart=always instead of by hand.")),
                    commands=tuple(commands),
                ),
                links=(Link("upstream", ep.label), Link("location", f"{loc.path} {loc.where}"))
                + tuple(Link("unit", u.name) for u in serving),
            )
