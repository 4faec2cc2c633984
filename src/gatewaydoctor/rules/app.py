"""Rules about the Python application itself: imports, dependencies, the app target."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from ..facts import Facts, Traceback, Unit
from ..findings import Excerpt, Fix, Hit, Link, Severity
from .common import frame_excerpt, latest_traceback, python_of, tracebacks_by_unit
from .registry import rule

RELATIVE = "attempted relative import with no known parent package"


def _tb_evidence(tb: Traceback) -> list[Excerpt]:
    out = [Excerpt(tb.source, tb.last_line)]
    frame = frame_excerpt(tb)
    if frame:
        out.append(frame)
    return out


def _links(unit: str, tb: Traceback) -> tuple[Link, ...]:
    return (Link("unit", unit), Link("log", tb.last_line))


def _relative_fix(unit: Unit | None, unit_name: str, tb: Traceback) -> Fix:
    workdir = (unit.working_directory if unit else None) or "<backend folder>"
    parent, package = os.path.split(workdir.rstrip("/")) if workdir.startswith("/") else (
        "<parent folder>", "backend")
    module = unit.app.module if unit and unit.app else "main"
    attr = unit.app.attr if unit and unit.app else "app"
    frame = frame_excerpt(tb)
    src = frame.source.rsplit(":", 1)[0] if frame else os.path.join(workdir, f"{module}.py")
    code = frame.text if frame else "from .config import settings"
    m = re.match(r"from (\.+)([\w.]*) import (.+)", code)
    absolute = f"from {m.group(2)} import {m.group(3)}" if m and m.group(2) else \
        "from config import settings"
    return Fix(
        summary=(
            f"Either use an absolute import (`{absolute}` instead of `{code}`) and keep "
            f"WorkingDirectory={workdir}; or run the code as a package from its parent: "
            f"WorkingDirectory={parent} with `uvicorn {package}.{module}:{attr}` "
            f"and a {workdir}/__init__.py file."
        ),
        commands=(
            f"# option 1: absolute imports, WorkingDirectory stays {workdir}",
            f"sed -i -E 's/^from \\.+([A-Za-z_][A-Za-z0-9_.]*) import/from \\1 import/' {src}",
            f"systemctl restart {unit_name}",
            f"# option 2: run it as the package {package} from {parent}",
            f"touch {workdir}/__init__.py",
            f"systemctl edit --full {unit_name}   # WorkingDirectory={parent}, "
            f"ExecStart=... {package}.{module}:{attr} ...",
            f"systemctl daemon-reload && systemctl restart {unit_name}",
        ),
    )


@rule(id="GD-APP-001", symbol="relative-import", category="app.relative_import",
      severity=Severity.ERROR, needs=("tracebacks",), layer="app",
      title="The app uses a relative import but is started as a top-level module")
def relative_import(facts: Facts) -> Iterator[Hit]:
    """`from .config import settings` in a module uvicorn imports as `main:app`."""
    for unit_name in tracebacks_by_unit(facts):
        tb = latest_traceback(facts, unit_name, ("ImportError",))
        if tb is None or RELATIVE not in tb.exc_message:
            continue
        unit = facts.unit(unit_name)
        target = f"{unit.app.module}:{unit.app.attr}" if unit and unit.app else "the app"
        yield Hit(
            title=f"{unit_name}: ImportError, {RELATIVE}",
            evidence=tuple(_tb_evidence(tb)),
            explanation=(
                f"{unit_name} starts {target} from {unit.working_directory if unit else '?'}, "
                "so the module is imported as a top-level module with no parent package, and "
                "its relative import (`from .x import y`) fails before the app can listen."
            ),
            fix=_relative_fix(unit, unit_name, tb),
            links=_links(unit_name, tb),
        )


def _missing_name(tb: Traceback) -> str | None:
    m = re.match(r"No module named '([^']+)'", tb.exc_message)
    return m.group(1) if m and "is not a package" not in tb.exc_message else None


def _is_app_module(unit: Unit | None, name: str) -> bool:
    if unit is None or unit.app is None:
        return False
    parts = unit.app.module.split(".")
    return any(name == ".".join(parts[: i + 1]) for i in range(len(parts)))


def _local_names(facts: Facts, unit: Unit | None) -> frozenset[str]:
    for listing in facts.listings or ():
        if unit and listing.path == unit.working_directory:
            return listing.names
    return frozenset()


@rule(id="GD-APP-002", symbol="missing-dependency", category="app.missing_dependency",
      severity=Severity.ERROR, needs=("tracebacks",), layer="app",
      title="A package the app imports is not installed in the unit's Python")
def missing_dependency(facts: Facts) -> Iterator[Hit]:
    """ModuleNotFoundError for something that is neither the app module nor a local file."""
    for unit_name in tracebacks_by_unit(facts):
        tb = latest_traceback(facts, unit_name, ("ModuleNotFoundError",))
        name = _missing_name(tb) if tb else None
        if tb is None or name is None:
            continue
        unit = facts.unit(unit_name)
        top = name.split(".")[0]
        local = _local_names(facts, unit)
        if _is_app_module(unit, name) or top in local or f"{top}.py" in local:
            continue
        python = python_of(facts, unit) if unit else "python3"
        wd = unit.working_directory if unit else None
        req = f"{wd}/requirements.txt" if wd and "requirements.txt" in local else None
        install = (f"{python} -m pip install -r {req}" if req
                   else f"{python} -m pip install {top}   # the PyPI name may differ from "
                   f"the module name")
        yield Hit(
            title=f"{unit_name}: ModuleNotFoundError: No module named '{name}'",
            evidence=tuple(_tb_evidence(tb)),
            explanation=(
                f"The interpreter {unit_name} runs ({python}) has no module '{top}', so the app "
                "dies while importing. Usually the requirements were installed into another "
                "virtualenv or another Python than the one in ExecStart."
            ),
            fix=Fix(summary=f"Install the requirements into {python}, then restart.",
                    commands=(install, f"systemctl restart {unit_name}")),
            links=_links(unit_name, tb),
        )


_UVICORN_MODULE = re.compile(r'Error loading ASGI app\. Could not import module "([^"]+)"')
_UVICORN_ATTR = re.compile(r'Error loading ASGI app\. Attribute "([^"]+)" not found in module '
                           r'"([^"]+)"')
_GUNICORN_ATTR = re.compile(r"Failed to find attribute '([^']+)' in '([^']+)'")


def _wrong_target_evidence(facts: Facts, unit: Unit) -> tuple[list[Excerpt], str] | None:
    for e in reversed(facts.journal_of(unit.name)):
        for pattern in (_UVICORN_MODULE, _UVICORN_ATTR, _GUNICORN_ATTR):
            if pattern.search(e.message):
                return [Excerpt(e.source, e.message)], e.message
    tb = latest_traceback(facts, unit.name, ("ModuleNotFoundError",))
    name = _missing_name(tb) if tb else None
    if tb is not None and name and _is_app_module(unit, name):
        return _tb_evidence(tb), tb.last_line
    for p in facts.import_probes or ():
        if p.unit != unit.name or p.ok or p.exc_type is None:
            continue
        wrong_module = (p.exc_type == "ModuleNotFoundError" and p.exc_name
                        and _is_app_module(unit, p.exc_name))
        if p.stage == "attribute" or wrong_module:
            line = f"{p.exc_type}: {p.exc_message}"
            return [Excerpt(p.source, line)], line
    return None


@rule(id="GD-APP-003", symbol="wrong-target", category="app.wrong_target",
      severity=Severity.ERROR, needs=("units", "tracebacks"), layer="app",
      title="The server cannot import the app module or find the app attribute")
def wrong_target(facts: Facts) -> Iterator[Hit]:
    """`uvicorn main:app` where main is not importable from WorkingDirectory, or has no `app`."""
    for unit in facts.web_units():
        found = _wrong_target_evidence(facts, unit)
        if found is None or unit.app is None:
            continue
        evidence, line = found
        target = f"{unit.app.module}:{unit.app.attr}"
        yield Hit(
            title=f"{unit.name}: cannot load {target}",
            evidence=tuple(evidence),
            explanation=(
                f"{unit.name} runs {unit.server} with {target} from "
                f"{unit.working_directory or '/'}, and that module or attribute is not there "
                f"({line}). Check WorkingDirectory=, --app-dir/--chdir and the name of the "
                "FastAPI object."
            ),
            fix=Fix(
                summary=f"Point {unit.name} at the module and attribute that exist: set "
                "WorkingDirectory= to the folder holding the module, or fix `module:attr`.",
                commands=(f"ls {unit.working_directory or '/'}",
                          f"systemctl edit --full {unit.name}",
                          f"systemctl daemon-reload && systemctl restart {unit.name}"),
            ),
            links=(Link("unit", unit.name), Link("log", line)),
        )
