"""A package the app imports is not installed in the Python the service runs."""

from __future__ import annotations

from collections.abc import Iterator

from ...categories import LOOP_SYMPTOMS
from ...facts import Facts, Traceback, Unit
from ...findings import Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Cmd, Found, Text, found


@rule(id="GD-APP-002", symbol="missing-dependency", category="app.missing_dependency",
      severity=Severity.ERROR, layer="app", explains=LOOP_SYMPTOMS + ("app.startup_failed",),
      title=N_("A package the app imports is not installed in the unit's Python"),
      texts=Text(
          title=N_("{unit}: the module '{name}' is not installed (ModuleNotFoundError)"),
          explanation=N_(
              "The interpreter {unit} runs ({python}) has no module '{module}', so the app "
              "dies while importing. Usually the requirements were installed into another "
              "virtualenv or another Python than the one in ExecStart."),
          fix=N_("Install the requirements into {python}, then restart."),
          commands=("{python} -m pip install -r {requirements}",
                    Cmd("{python} -m pip install {package}",
                        N_("the PyPI name may differ from the module name")),
                    "{restart}")))
def missing_dependency(facts: Facts, tracebacks: tuple[Traceback, ...]) -> Iterator[Found]:
    """ModuleNotFoundError for something that is neither the app module nor a local file."""
    for unit_name in facts.tracebacks_by_unit():
        tb = facts.latest_traceback(unit_name, ("ModuleNotFoundError",))
        name = tb.missing_module if tb else None
        if tb is None or name is None:
            continue
        unit = facts.unit(unit_name)
        local = _local_names(facts, unit)
        if _own(unit, name, local):
            continue
        req = _requirements(unit, local)
        yield found(tb.excerpts, [Link("unit", unit_name), Link("log", tb.last_line)],
                    unit=unit_name, name=name, module=name.split(".")[0],
                    python=facts.python_of(unit) if unit else "python3",
                    requirements=req, package=None if req else name.split(".")[0],
                    restart=facts.restart_command_of(unit_name))


def _local_names(facts: Facts, unit: Unit | None) -> frozenset[str]:
    """What the unit's WorkingDirectory holds."""
    for listing in facts.listings or ():
        if unit and listing.path == unit.working_directory:
            return listing.names
    return frozenset()


def _own(unit: Unit | None, name: str, local: frozenset[str]) -> bool:
    """The app module itself, or a module in the app's folder: not a package to install."""
    top = name.split(".")[0]
    return (unit is not None and unit.is_app_module(name)) or top in local or \
        f"{top}.py" in local


def _requirements(unit: Unit | None, local: frozenset[str]) -> str | None:
    """The app's requirements.txt, when its folder has one."""
    wd = unit.working_directory if unit else None
    return f"{wd}/requirements.txt" if wd and "requirements.txt" in local else None
