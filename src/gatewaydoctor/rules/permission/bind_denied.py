"""The server may not bind its port: below 1024 without root or CAP_NET_BIND_SERVICE (or a
policy that forbids it). A permission to give, or a port to change: not another process."""

from __future__ import annotations

from collections.abc import Iterator

from ...categories import LOOP_SYMPTOMS
from ...facts import Endpoint, Facts, JournalEntry, Unit, last_matching
from ...facts.signatures import BIND_DENIED_RE, BOUND_RE, in_use_address
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Cmd, Found, Text, found, msg


@rule(id="GD-PRM-003", symbol="bind-denied", category="permission.denied",
      severity=Severity.ERROR, layer="process",
      explains=LOOP_SYMPTOMS + ("app.startup_failed", "probe.failed"),
      title=N_("The service may not bind its port (Permission denied)"),
      texts=Text(
          title=N_("{unit}: {user} may not listen on {address} (Permission denied)"),
          explanation=(N_(
              "{unit} runs as {user}, and the server was refused its socket: `{line}`. Ports "
              "below 1024 need root or the CAP_NET_BIND_SERVICE capability; an SELinux policy "
              "that does not allow the port gives the same error. Nothing of the app "
              "listens, so nginx gets no answer from it."), "{behind_nginx}"),
          fix=N_("Let the app listen on a port of 1024 or more (nginx in front keeps port "
                 "80/443) and point proxy_pass there, or give {unit} the capability; then "
                 "restart."),
          commands=(Cmd("systemctl edit {systemd_unit}",
                        N_("[Service] AmbientCapabilities=CAP_NET_BIND_SERVICE, or change the "
                           "port in ExecStart=")), "{systemd_restart}", "{rerun}")))
def bind_denied(facts: Facts, units: tuple[Unit, ...],
                journal: tuple[JournalEntry, ...]) -> Iterator[Found]:
    """uvicorn `[Errno 13] error while attempting to bind ...`, gunicorn `... failed: [Errno 13]
    Permission denied`, daphne, uWSGI `bind(): Permission denied`, hypercorn/waitress, Django:
    in the unit's current run, with no bound line after it."""
    for unit in facts.web_units():
        run = facts.since_last_start(unit.name)
        line = last_matching(run, BIND_DENIED_RE)
        if line is None or any(BOUND_RE.search(e.message) for e in run[run.index(line) + 1:]):
            continue
        want = _wanted(line, unit)
        yield found([line.excerpt, Excerpt(unit.source, f"User={unit.user or 'root'}")],
                    [Link("unit", unit.name), Link("log", line.message)],
                    unit=unit.name, user=unit.user or "root", line=line.message.strip(),
                    address=want.label if want else msg(N_("its port")),
                    behind_nginx=msg(N_("nginx already serves port {port} for the clients: the "
                                        "app behind it does not need a privileged port."),
                                     port=want.port) if want and want.port in (80, 443) else None)


def _wanted(line: JournalEntry, unit: Unit) -> Endpoint | None:
    """The address the line names, else the unit's first TCP bind."""
    said = in_use_address(line.message)
    if said:
        return Endpoint(host=said[0] or "0.0.0.0", port=said[1])
    return next((b for b in unit.binds if b.port is not None), None)
