"""A package the app imports is not installed in the Python the service runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Tuple

from ...categories import LOOP_SYMPTOMS
from ...facts import Facts, JournalEntry, Traceback, Unit
from ...facts.signatures import NO_MODULE_NAMED_RE, WAITRESS_IMPORT_RE
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Cmd, Found, Text, found

TITLE = N_("{unit}: the module '{name}' is not installed (ModuleNotFoundError)")


@rule(id="GD-APP-002", symbol="missing-dependency", category="app.missing_dependency",
      severity=Severity.ERROR, layer="app", explains=LOOP_SYMPTOMS + ("app.startup_failed",),
      title=N_("A package the app imports is not installed in the unit's Python"),
      texts={"default": Text(
          title=TITLE,
          explanation=N_(
              "The interpreter {unit} runs ({python}) has no module '{module}', so the app "
              "dies while importing. Usually the requirements were installed into another "
              "virtualenv or another Python than the one in {command_key}."),
          fix=N_("Install the requirements into {python}, then restart."),
          commands=("{python} -m pip install -r {requirements}",
                    Cmd("{python} -m pip install {package}",
                        N_("the PyPI name may differ from the module name")),
                    "{restart}")),
          # A container's Python is its image's: what pip installs in it is gone when it
          # is created again, and a container that exited runs nothing to install into.
          "container": Text(
              title=TITLE,
              explanation=N_(
                  "The image {unit} runs has no module '{module}' in its Python ({python}), "
                  "so the app dies while importing. Usually the package is missing from the "
                  "requirements the image was built from, or the image is older than them."),
              fix=N_("Add it to the requirements the image is built from, build the image "
                     "again and create the container from it."),
              commands=(Cmd("", N_("add {package_or_requirements} to the image's "
                                   "requirements")),
                        Cmd("{runtime} compose up -d --build",
                            N_("or: build the image, remove the container, run it again"))))})
def missing_dependency(facts: Facts, tracebacks: tuple[Traceback, ...]) -> Iterator[Found]:
    """ModuleNotFoundError for something that is neither the app module nor a local file."""
    for unit_name, evidence, name, line in _missing(facts):
        unit = facts.unit(unit_name)
        local = _local_names(facts, unit)
        if _own(unit, name, local):
            continue
        req = _requirements(unit, local)
        yield found(evidence, [Link("unit", unit_name), Link("log", line)],
                    unit=unit_name, name=name, module=name.split(".")[0],
                    python=facts.python_of(unit) if unit else "python3",
                    requirements=req, package=None if req else name.split(".")[0],
                    package_or_requirements=name.split(".")[0],
                    restart=facts.restart_command_of(unit_name),
                    runtime=unit.control if unit else None,
                    text="container" if unit and unit.manager == "container" else "default")


Missing = Tuple[str, Tuple[Excerpt, ...], str, str]


def _missing(facts: Facts) -> Iterator[Missing]:
    """(unit, evidence, module, line): the newest `No module named` traceback of each unit;
    for a web unit without one, what waitress 3.0 prints instead of a traceback."""
    seen = set()
    for unit_name in facts.tracebacks_by_unit():
        tb = facts.latest_traceback(unit_name, ("ModuleNotFoundError",))
        if tb is not None and tb.missing_module:
            seen.add(unit_name)
            yield unit_name, tb.excerpts, tb.missing_module, tb.last_line
    for unit in facts.web_units():
        said = None if unit.name in seen else _waitress(facts.journal_of(unit.name))
        if said:
            yield unit.name, *said


def _waitress(entries: list[JournalEntry]) -> tuple[tuple[Excerpt, ...], str, str] | None:
    """waitress runner.py: `There was an exception (ModuleNotFoundError) importing your
    module.` and, from the same process, `1. No module named 'x'`."""
    head = next((e for e in reversed(entries) if WAITRESS_IMPORT_RE.search(e.message)
                 and "(ModuleNotFoundError)" in e.message), None)
    named = [(e, m) for e in entries if head and e.pid == head.pid
             and (m := NO_MODULE_NAMED_RE.search(e.message))]
    if head is None or not named:
        return None
    line, m = named[-1]
    return (head.excerpt, line.excerpt), m.group(1), line.message


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
