"""The backend was run by hand, outside any unit, and is gone: nothing restarts it."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import AccessLogEntry, Endpoint, Facts, Listener, Location, NginxConfig, Unit
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Cmd, Found, Text, found

TITLE = N_("Nothing listens at {address} and no unit manages it: the server run by hand is "
           "gone")
EXPLANATION = N_(
    "nginx proxies {path} to {address}. A server there answered while no systemd unit ran it "
    "(started by hand, with nohup or in a terminal), and it has died or was killed: nothing "
    "restarts it, so nginx answers 502 until someone starts it again.")
NOHUP = Cmd("tail -n 50 {nohup}", N_("why the hand-started server died"))


@rule(id="GD-SYS-003", symbol="unmanaged-server-gone", category="service.not_running",
      severity=Severity.ERROR, layer="app", explains=("upstream.unreachable", "probe.failed"),
      title=N_("The server was run outside any unit and is gone"),
      texts={"default": Text(TITLE, EXPLANATION, N_(
          "Run the backend under its systemd unit (Restart=always) instead of by hand."),
          (NOHUP, "systemctl enable --now {unit}", "systemctl status {unit} --no-pager")),
          "no-unit": Text(TITLE, EXPLANATION, N_(
              "Run the backend under a systemd unit with Restart=always instead of by hand."),
              (NOHUP, Cmd("", N_("write a unit ({settings}), then: {command}"))))})
def unmanaged_server_gone(nginx_config: NginxConfig, listeners: tuple[Listener, ...],
                          facts: Facts, units: tuple[Unit, ...] = ()) -> Iterator[Found]:
    """Nothing listens at proxy_pass, no running unit manages it, and it served outside a
    unit (without systemd too)."""
    if facts.units_unknown() or any(u.active_state == "active" for u in facts.web_units()):
        return  # the units could not be read, or one runs the app (maybe elsewhere)
    for loc, ep in _dead_local_targets(nginx_config, facts):
        serving = facts.services_serving(ep)
        if _managed(serving):
            continue
        served = _served_since_stop(facts, nginx_config, ep, serving)
        nohup = _nohup(facts)
        if served or nohup:
            yield _found(facts, loc, ep, serving, served, nohup)


def _nohup(facts: Facts) -> list[str]:
    """A nohup.out in a folder that was listed (a working directory, a site's root)."""
    return [f"{d.path.rstrip('/')}/nohup.out" for d in facts.listings or ()
            if "nohup.out" in d.names][:1]


def _found(facts: Facts, loc: Location, ep: Endpoint, serving: list[Unit],
           served: list[AccessLogEntry], nohup: list[str]) -> Found:
    # The gone server's nohup.out names what it died of: that (app) rule is the cause.
    told = [u for u in facts.units or () if u.output in nohup and facts.tracebacks_of(u.name)]
    return found(_evidence(facts, loc, ep, serving, served, nohup),
                 (Link("upstream", ep.label), Link("location", f"{loc.path} {loc.where}"),
                  *(Link("unit", u.name) for u in serving + told)),
                 role="symptom" if told else None, text="default" if serving else "no-unit",
                 address=ep.label, path=loc.path or "/",
                 unit=serving[0].name if serving else None, nohup=nohup[0] if nohup else None,
                 command="systemctl enable --now <name>.service",
                 settings="User=, WorkingDirectory=, ExecStart=<venv>/bin/uvicorn main:app "
                          f"--host {ep.host} --port {ep.port}, Restart=always")


def _dead_local_targets(config: NginxConfig, facts: Facts) -> Iterator[tuple[Location, Endpoint]]:
    """Each local proxy_pass target where nothing listens, once."""
    seen: set[str] = set()
    for _server, loc in config.proxied_locations():
        for ep in loc.endpoints:
            local = ep.path is not None or (ep.host or "") in (
                "127.0.0.1", "localhost", "::1", "*", "0.0.0.0", "::")
            if ep.label not in seen and local and not facts.listeners_at(ep):
                seen.add(ep.label)
                yield loc, ep


def _managed(serving: list[Unit]) -> bool:
    """A process manager runs it, or a unit is (re)starting it: other rules speak then."""
    return any(u.restarted_by_manager or u.sub_state == "auto-restart" or u.active_state in (
        "active", "activating", "reloading") for u in serving)


def _served_since_stop(facts: Facts, config: NginxConfig, ep: Endpoint,
                       serving: list[Unit]) -> list[AccessLogEntry]:
    """Requests to the target's locations answered (< 500) since its units last stopped."""
    stopped = max((t for t in (_stopped_at(facts, u) for u in serving) if t), default=None)
    paths = {loc.path for _s, loc in config.proxied_locations() if ep in loc.endpoints}
    return [a for a in facts.access_log or ()
            if a.status < 500 and any(a.path.startswith(p) for p in paths if p)
            and (t := a.epoch) is not None and (stopped is None or t >= stopped)]


def _stopped_at(facts: Facts, unit: Unit) -> float | None:
    return next((e.time for e in reversed(facts.journal_of(unit.name))
                 if e.message.startswith(("Stopped ", "Deactivated successfully"))
                 or e.message.endswith("Deactivated successfully.")), None)


def _evidence(facts: Facts, loc: Location, ep: Endpoint, serving: list[Unit],
              served: list[AccessLogEntry], nohup: list[str]) -> list[Excerpt]:
    out = [Excerpt(loc.where, f"location {loc.path} {{ {loc.pass_name} {loc.proxy_pass}; }}"),
           Excerpt(facts.socket_table(ep), f"no process listens at {ep.label}")]
    out += [Excerpt(u.source, f"{u.name} binds {ep.label} but is {u.active_state}/"
                    f"{u.sub_state} (UnitFileState={u.unit_file_state}): no unit manages the "
                    "server") for u in serving] or [
        Excerpt("systemctl show", f"no systemd unit runs a server at {ep.label}" + (
            f" ({facts.missing.get('units')})" if facts.units is None else ""))]
    after = " after the unit stopped" if any(_stopped_at(facts, u) for u in serving) else ""
    out += [Excerpt(a.where, f"{a.raw}   (answered{after}: a server outside any unit)")
            for a in served[-1:]]
    out += [Excerpt(p, "nohup.out: a server was started by hand with nohup") for p in nohup]
    out += [e.excerpt for p in nohup if (e := facts.nohup_error(p))]  # why it died
    errors = [e for e in facts.nginx_errors or () if f"//{ep.label}" in (e.upstream or "")]
    return out + [Excerpt(e.where, e.raw) for e in errors[-1:]]
