"""The code needs another Python than the one the service runs (a newer stdlib name, module or
syntax; or a module removed since)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ...categories import LOOP_SYMPTOMS
from ...facts import Facts, Traceback, Unit
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Msg, Text, found, msg

_PY_PATH_RE = re.compile(r"/python(\d)\.(\d+)/")

_TITLE = N_("{unit}: {error} ({said}; the service runs Python {runs})")
_NEWER = N_("{unit} runs {python}, which is Python {runs}. The code uses {what}, which needs "
            "Python {want} or newer, so the import fails and the app never starts.")
_COMMANDS = ("{new_py} -m venv {venv}.new && {venv}.new/bin/pip install -r "
             "{workdir}/requirements.txt", "mv {venv} {venv}.old && mv {venv}.new {venv}",
             "{restart}")


@rule(id="GD-APP-005", symbol="python-version", category="app.python_version",
      severity=Severity.ERROR, layer="app",
      explains=LOOP_SYMPTOMS + ("app.startup_failed", "app.missing_dependency"),
      title=N_("The code needs another Python version than the one the service runs"),
      texts={
          "default": Text(_TITLE, _NEWER, N_(
              "Run the service on Python {want}+ (recreate its virtualenv with {new_py}), or "
              "change the code to work on {runs}."), _COMMANDS),
          "typing": Text(_TITLE, _NEWER, N_(
              "Run the service on Python {want}+ (recreate its virtualenv with {new_py}), or "
              "change the code to work on {runs} (typing_extensions has the newer typing "
              "names)."), _COMMANDS),
          # The code uses a module the service's Python no longer has.
          "removed": Text(_TITLE, N_(
              "{unit} runs {python}, which is Python {runs}. The code uses {what}, which "
              "Python {want} and later no longer have, so the import fails and the app never "
              "starts."), N_(
              "Run the service on Python {older} or older, or replace {what} (see the Python "
              "{want} release notes)."), _COMMANDS),
      })
def python_version(facts: Facts, tracebacks: tuple[Traceback, ...]) -> Iterator[Found]:
    """An stdlib name, module or syntax newer (or removed earlier) than the unit's interpreter."""
    for name, tbs in facts.tracebacks_by_unit().items():
        tb = next((t for t in reversed(tbs) if t.origin == "journal"), tbs[-1])
        have, version_line = _unit_python(facts, name, tb)
        need = tb.needs_python(have) if have else None
        if need is None or have is None:
            continue
        said, values = _versions(need, have)
        yield found([*tb.excerpts, version_line, Excerpt("python stdlib", said)],
                    [Link("unit", name), Link("log", tb.last_line)], text=_text(need),
                    unit=name, error=tb.last_line, restart=facts.restart_command_of(name),
                    **_interpreter(facts, facts.unit(name)), **values)


def _interpreter(facts: Facts, unit: Unit | None) -> dict[str, str | None]:
    """The unit's Python, its virtualenv and the folder with requirements.txt."""
    python = facts.python_of(unit) if unit else "python3"
    return dict(python=python, venv=python.rsplit("/bin/", 1)[0] if "/bin/" in python else None,
                workdir=(unit.working_directory if unit else None) or ".")


def _text(need: tuple[tuple[int, int], str, bool]) -> str:
    _version, what, newer = need
    return "removed" if not newer else "typing" if "typing" in what else "default"


def _versions(need: tuple[tuple[int, int], str, bool],
              have: tuple[int, int]) -> tuple[str, dict[str, Any]]:
    """What the code needs, in English for the evidence and as values for the texts."""
    (major, minor), what, newer = need
    want = f"{major}.{minor}"
    said = N_("{what} exists since Python {want}") if newer else \
        N_("{what} was removed in Python {want}")
    return said.format(what=what, want=want), dict(
        what=_shown(what), want=want, runs=f"{have[0]}.{have[1]}", older=f"3.{minor - 1}",
        said=msg(said, what=_shown(what), want=want),
        new_py=f"python{want}" if newer else f"python3.{minor - 1}")


def _shown(what: str) -> str | Msg:
    """What the code uses, in the reader's language (a dotted stdlib name stays as it is)."""
    if what.startswith("the module "):
        return msg(N_("the module {name}"), name=what[len("the module "):])
    return msg(what) if " " in what else what


def _version(text: str | None) -> tuple[int, int] | None:
    m = re.match(r"(\d+)\.(\d+)", text or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _unit_python(facts: Facts, unit: str, tb: Traceback) -> tuple[tuple[int, int] | None, Excerpt]:
    """The version of the unit's Python (`--version`, else the traceback's stdlib paths)."""
    for info in facts.pythons or ():
        if info.unit == unit and info.version:
            return _version(info.version), Excerpt(
                info.source, f"{info.interpreter} --version: Python {info.version}")
    m = _PY_PATH_RE.search(tb.text + tb.last_line)
    if m is None:
        return None, Excerpt(tb.source, "the interpreter version is not known")
    return (int(m.group(1)), int(m.group(2))), Excerpt(
        tb.source, f"the traceback's stdlib paths are python{m.group(1)}.{m.group(2)}")
