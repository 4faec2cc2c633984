"""The unit file changed on disk, but systemd still runs the definition it loaded before."""

from __future__ import annotations

from collections.abc import Iterator

from ...categories import LOOP_SYMPTOMS
from ...facts import Facts, Unit, UnitFileText
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Text, found


@rule(id="GD-SVC-006", symbol="unit-changed", category="service.unit_changed",
      severity=Severity.ERROR, layer="unit",
      explains=LOOP_SYMPTOMS + ("service.exec_missing", "service.workdir_missing",
                                "config.env_missing", "app.wrong_target"),
      title=N_("The unit file changed on disk but systemd still runs the old one "
               "(no daemon-reload)"),
      texts=Text(
          title=N_("{unit} changed on disk, but systemd has not reloaded it"),
          explanation=N_(
              "The unit file (or a drop-in) of {unit} was edited after systemd loaded it. "
              "`systemctl restart` keeps using the loaded, old definition until "
              "`systemctl daemon-reload`, so the fix on disk is not in effect and the unit "
              "keeps failing ({state}, result {result})."),
          fix=N_("Reload systemd's unit definitions, then restart the service."),
          commands=("systemctl daemon-reload", "{restart}", "{status}")))
def unit_changed(facts: Facts, units: tuple[Unit, ...],
                 unit_files: tuple[UnitFileText, ...] = ()) -> Iterator[Found]:
    """NeedDaemonReload=yes on a unit that is not running properly."""
    for u in facts.gateway_units():
        if not u.need_daemon_reload or not facts.failing(u):
            continue
        on_disk = next((f for f in unit_files if f.unit == u.name), None)
        evidence = [Excerpt(u.source, "NeedDaemonReload=yes"),
                    *(_on_disk(u, on_disk) if on_disk else [])]
        if not any("daemon-reload" in e.text for e in evidence):
            evidence.append(Excerpt(u.source, "the unit file changed on disk since the last "
                                    "`systemctl daemon-reload`"))
        yield found(evidence, [Link("unit", u.name)], unit=u.name, state=u.state,
                    result=u.result, restart=u.restart_command, status=u.status_command)


def _on_disk(u: Unit, on_disk: UnitFileText) -> list[Excerpt]:
    """systemctl's warning that the file changed, and ExecStart loaded against on disk."""
    warned = [Excerpt(on_disk.source, w) for w in on_disk.warnings
              if "daemon-reload" in w or "changed on disk" in w]
    loaded = [" ".join(a) for a in u.exec_start]
    if not (on_disk.exec_start and loaded and
            on_disk.exec_start[-1].lstrip("-@:+!") != loaded[-1]):
        return warned
    return warned + [Excerpt(u.source, f"ExecStart={loaded[-1]}   (loaded, in use)"),
                     Excerpt(on_disk.source, f"ExecStart={on_disk.exec_start[-1]}   (on disk)")]
