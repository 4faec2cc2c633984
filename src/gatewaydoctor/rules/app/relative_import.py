"""The app uses `from .x import y` but the server imports it as a top-level module."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

from ...categories import LOOP_SYMPTOMS
from ...facts import Facts, Traceback, Unit
from ...facts.managers import restart_with, setting_keys, systemd_unit
from ...findings import Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Msg, Text, found, msg

RELATIVE = "attempted relative import with no known parent package"
_RELATIVE_LINE_RE = re.compile(r"from (\.+)([\w.]*) import (.+)")


@rule(id="GD-APP-001", symbol="relative-import", category="app.relative_import",
      severity=Severity.ERROR, layer="app", explains=LOOP_SYMPTOMS + ("app.startup_failed",),
      title=N_("The app uses a relative import but is started as a top-level module"),
      texts=Text(
          title=N_("{unit}: the relative import fails (ImportError: {message})"),
          # The explanation names the unit's own target and folder ("?" when not known);
          # the fix names the package to run instead: so the explanation has values of its own.
          explanation="{why}",
          fix=N_("Either use an absolute import (`{absolute}` instead of `{code}`) and keep "
                 "{folder_key}={workdir}; or run the code as a package from its parent: "
                 "{folder_key}={parent} with `uvicorn {target}` and a {init} file."),
          commands=(
              "# {option1}",
              "sed -i -E 's/^from \\.+([A-Za-z_][A-Za-z0-9_.]*) import/from \\1 import/' {src}",
              "{restart}",
              "# {option2}",
              "touch {workdir}/__init__.py",
              "{run_as_package}")))
def relative_import(facts: Facts, tracebacks: tuple[Traceback, ...]) -> Iterator[Found]:
    """`from .config import settings` in a module uvicorn imports as `main:app`."""
    for name in facts.tracebacks_by_unit():
        tb = facts.latest_traceback(name, ("ImportError",))
        if tb is None or RELATIVE not in tb.exc_message:
            continue
        unit = facts.unit(name)
        yield found(tb.excerpts, [Link("unit", name), Link("log", tb.last_line)],
                    unit=name, message=RELATIVE, why=_why(unit, name),
                    restart=facts.restart_command_of(name), **_fix(unit, name, tb))


def _why(unit: Unit | None, name: str) -> Msg:
    """The explanation, with the unit's own target and folder."""
    target = f"{unit.app.module}:{unit.app.attr}" if unit and unit.app else msg(N_("the app"))
    return msg(N_("{unit} starts {target} from {workdir}, so the module is imported as a "
                  "top-level module with no parent package, and its relative import "
                  "(`from .x import y`) fails before the app can listen."),
               unit=name, target=target, workdir=(unit.working_directory if unit else None) or "?")


def _fix(unit: Unit | None, name: str, tb: Traceback) -> dict[str, Any]:
    """Both ways out: absolute imports in place, or the folder run as a package."""
    workdir = (unit.working_directory if unit else None) or "<backend folder>"
    parent, package = os.path.split(workdir.rstrip("/")) if workdir.startswith("/") else (
        "<parent folder>", "backend")
    module, attr = (unit.app.module, unit.app.attr) if unit and unit.app else ("main", "app")
    frame = tb.frame_excerpt
    service = unit or systemd_unit(name)
    return dict(
        workdir=workdir, parent=parent, target=f"{package}.{module}:{attr}",
        init=f"{workdir}/__init__.py",
        src=frame.source.rsplit(":", 1)[0] if frame else os.path.join(workdir, f"{module}.py"),
        option1=msg(N_("option 1: absolute imports, {folder_key} stays {workdir}"),
                    workdir=workdir, **setting_keys(service)),
        option2=msg(N_("option 2: run it as the package {package} from {parent}"),
                    package=package, parent=parent),
        **_absolute(frame.text if frame else "from .config import settings"),
        # its manager's way: the unit or program to edit, or pm2's or nohup's command line
        run_as_package=restart_with(service, workdir=parent,
                                    target=f"{package}.{module}:{attr}"))


def _absolute(code: str) -> dict[str, str]:
    """The relative import line, and the absolute one to write instead."""
    m = _RELATIVE_LINE_RE.match(code)
    return dict(code=code, absolute=f"from {m.group(2)} import {m.group(3)}" if m and m.group(2)
                else "from config import settings")

