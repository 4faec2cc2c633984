"""The server cannot import the app module, or the module has no such attribute."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...categories import LOOP_SYMPTOMS
from ...facts import Facts, Traceback, Unit
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Text, found

_UVICORN_MODULE = re.compile(r'Error loading ASGI app\. Could not import module "([^"]+)"')
_UVICORN_ATTR = re.compile(r'Error loading ASGI app\. Attribute "([^"]+)" not found in module '
                           r'"([^"]+)"')
_GUNICORN_ATTR = re.compile(r"Failed to find attribute '([^']+)' in '([^']+)'")

Evidence = tuple[tuple[Excerpt, ...], str]


@rule(id="GD-APP-003", symbol="wrong-target", category="app.wrong_target",
      severity=Severity.ERROR, layer="app", explains=LOOP_SYMPTOMS + ("app.startup_failed",),
      title=N_("The server cannot import the app module or find the app attribute"),
      texts=Text(
          title=N_("{unit}: cannot load {target}"),
          explanation=N_(
              "{unit} runs {server} with {target} from {workdir}, and that module or "
              "attribute is not there ({line}). Check WorkingDirectory=, --app-dir/--chdir "
              "and the name of the FastAPI object."),
          fix=N_("Point {unit} at the module and attribute that exist: set "
                 "WorkingDirectory= to the folder holding the module, or fix "
                 "`module:attr`."),
          commands=("ls {workdir}", "systemctl edit --full {unit}",
                    "systemctl daemon-reload && systemctl restart {unit}")))
def wrong_target(facts: Facts, units: tuple[Unit, ...],
                 tracebacks: tuple[Traceback, ...]) -> Iterator[Found]:
    """`uvicorn main:app` where main is not importable from WorkingDirectory, or has no `app`."""
    for unit in facts.web_units():
        said = _logged(facts, unit) or _raised(facts, unit) or _probed(facts, unit)
        if said is None or unit.app is None:
            continue
        evidence, line = said
        yield found(evidence, [Link("unit", unit.name), Link("log", line)],
                    unit=unit.name, target=f"{unit.app.module}:{unit.app.attr}",
                    server=unit.server, workdir=unit.working_directory or "/", line=line)


def _logged(facts: Facts, unit: Unit) -> Evidence | None:
    """What uvicorn or gunicorn logged about the target, newest first."""
    for e in reversed(facts.journal_of(unit.name)):
        if any(p.search(e.message) for p in (_UVICORN_MODULE, _UVICORN_ATTR, _GUNICORN_ATTR)):
            return (e.excerpt,), e.message
    return None


def _raised(facts: Facts, unit: Unit) -> Evidence | None:
    """A ModuleNotFoundError naming the app module itself."""
    tb = facts.latest_traceback(unit.name, ("ModuleNotFoundError",))
    name = tb.missing_module if tb else None
    if tb is not None and name and unit.is_app_module(name):
        return tb.excerpts, tb.last_line
    return None


def _probed(facts: Facts, unit: Unit) -> Evidence | None:
    """The import probe: the attribute is missing, or the app module cannot be found."""
    for p in facts.import_probes or ():
        if p.unit != unit.name or p.ok or p.exc_type is None:
            continue
        wrong_module = (p.exc_type == "ModuleNotFoundError" and p.exc_name
                        and unit.is_app_module(p.exc_name))
        if p.stage == "attribute" or wrong_module:
            line = f"{p.exc_type}: {p.exc_message}"
            return (Excerpt(p.source, line),), line
    return None
