"""Rules about the Python application itself: imports, dependencies, the app target."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from ...facts import Facts, Traceback, Unit
from ...findings import Excerpt, Fix, Hit, Link, Severity
from ...i18n import N_, _
from ..registry import rule
from .common import (
    frame_excerpt,
    journal_excerpt,
    latest_traceback,
    logs_command,
    python_of,
    restart_command,
    supervised,
    tracebacks_by_unit,
)
from .service import LOOP_SYMPTOMS, failing, since_last_start

RELATIVE = "attempted relative import with no known parent package"


def _tb_evidence(tb: Traceback) -> list[Excerpt]:
    out = [Excerpt(tb.source, tb.last_line)]
    frame = frame_excerpt(tb)
    if frame:
        out.append(frame)
    return out


def _edit_commands(unit: Unit | None, unit_name: str, parent: str, target: str) -> tuple[str, ...]:
    """Run the app from parent as target: edit the unit (or the supervisor program), restart."""
    program = supervised(unit_name)
    if program:
        conf = unit.fragment_path if unit and unit.fragment_path else "/etc/supervisor/conf.d/"
        return (f"editor {conf}   # [program:{program}] directory={parent}, "
                f"command=... {target} ...",
                f"supervisorctl reread && supervisorctl update {program}")
    return (f"systemctl edit --full {unit_name}   # WorkingDirectory={parent}, "
            f"ExecStart=... {target} ...",
            f"systemctl daemon-reload && systemctl restart {unit_name}")


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
        summary=_(
            "Either use an absolute import (`{absolute}` instead of `{code}`) and keep "
            "WorkingDirectory={workdir}; or run the code as a package from its parent: "
            "WorkingDirectory={parent} with `uvicorn {target}` and a {init} file."
        ).format(absolute=absolute, code=code, workdir=workdir, parent=parent,
                 target=f"{package}.{module}:{attr}", init=f"{workdir}/__init__.py"),
        commands=(
            "# " + _("option 1: absolute imports, WorkingDirectory stays {workdir}").format(
                workdir=workdir),
            f"sed -i -E 's/^from \\.+([A-Za-z_][A-Za-z0-9_.]*) import/from \\1 import/' {src}",
            restart_command(unit_name),
            "# " + _("option 2: run it as the package {package} from {parent}").format(
                package=package, parent=parent),
            f"touch {workdir}/__init__.py",
            *_edit_commands(unit, unit_name, parent, f"{package}.{module}:{attr}"),
        ),
    )


@rule(id="GD-APP-001", symbol="relative-import", category="app.relative_import",
      severity=Severity.ERROR, needs=("tracebacks",), layer="app",
      explains=LOOP_SYMPTOMS + ("app.startup_failed",),
      title=N_("The app uses a relative import but is started as a top-level module"))
def relative_import(facts: Facts) -> Iterator[Hit]:
    """`from .config import settings` in a module uvicorn imports as `main:app`."""
    for unit_name in tracebacks_by_unit(facts):
        tb = latest_traceback(facts, unit_name, ("ImportError",))
        if tb is None or RELATIVE not in tb.exc_message:
            continue
        unit = facts.unit(unit_name)
        target = f"{unit.app.module}:{unit.app.attr}" if unit and unit.app else _("the app")
        yield Hit(
            title=_("{unit}: the relative import fails (ImportError: {message})").format(
                unit=unit_name, message=RELATIVE),
            evidence=tuple(_tb_evidence(tb)),
            explanation=_(
                "{unit} starts {target} from {workdir}, so the module is imported as a "
                "top-level module with no parent package, and its relative import "
                "(`from .x import y`) fails before the app can listen."
            ).format(unit=unit_name, target=target,
                     workdir=(unit.working_directory if unit else None) or "?"),
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
      explains=LOOP_SYMPTOMS + ("app.startup_failed",),
      title=N_("A package the app imports is not installed in the unit's Python"))
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
                   else f"{python} -m pip install {top}   # "
                   + _("the PyPI name may differ from the module name"))
        yield Hit(
            title=_("{unit}: the module '{name}' is not installed (ModuleNotFoundError)").format(
                unit=unit_name, name=name),
            evidence=tuple(_tb_evidence(tb)),
            explanation=_(
                "The interpreter {unit} runs ({python}) has no module '{module}', so the app "
                "dies while importing. Usually the requirements were installed into another "
                "virtualenv or another Python than the one in ExecStart."
            ).format(unit=unit_name, python=python, module=top),
            fix=Fix(summary=_("Install the requirements into {python}, then restart.").format(
                        python=python),
                    commands=(install, restart_command(unit_name))),
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
      explains=LOOP_SYMPTOMS + ("app.startup_failed",),
      title=N_("The server cannot import the app module or find the app attribute"))
def wrong_target(facts: Facts) -> Iterator[Hit]:
    """`uvicorn main:app` where main is not importable from WorkingDirectory, or has no `app`."""
    for unit in facts.web_units():
        found = _wrong_target_evidence(facts, unit)
        if found is None or unit.app is None:
            continue
        evidence, line = found
        target = f"{unit.app.module}:{unit.app.attr}"
        yield Hit(
            title=_("{unit}: cannot load {target}").format(unit=unit.name, target=target),
            evidence=tuple(evidence),
            explanation=_(
                "{unit} runs {server} with {target} from {workdir}, and that module or "
                "attribute is not there ({line}). Check WorkingDirectory=, --app-dir/--chdir "
                "and the name of the FastAPI object."
            ).format(unit=unit.name, server=unit.server, target=target,
                     workdir=unit.working_directory or "/", line=line),
            fix=Fix(
                summary=_("Point {unit} at the module and attribute that exist: set "
                          "WorkingDirectory= to the folder holding the module, or fix "
                          "`module:attr`.").format(unit=unit.name),
                commands=(f"ls {unit.working_directory or '/'}",
                          f"systemctl edit --full {unit.name}",
                          f"systemctl daemon-reload && systemctl restart {unit.name}"),
            ),
            links=(Link("unit", unit.name), Link("log", line)),
        )


STARTUP_FAILED_RE = re.compile(r"Application startup failed|Worker failed to boot")


@rule(id="GD-APP-004", symbol="startup-failed", category="app.startup_failed",
      severity=Severity.ERROR, needs=("units", "journal"), layer="app",
      explains=LOOP_SYMPTOMS,
      title=N_("The app raised during startup (lifespan/startup handler) and exited"))
def startup_failed(facts: Facts) -> Iterator[Hit]:
    """uvicorn's `Application startup failed. Exiting.` (gunicorn: `Worker failed to boot`)."""
    for unit in facts.web_units():
        if not failing(facts, unit):
            continue
        window = since_last_start(facts, unit.name)
        line = next((e for e in reversed(window) if STARTUP_FAILED_RE.search(e.message)), None)
        if line is None:
            continue
        tbs = [t for t in facts.tracebacks_of(unit.name)
               if t.origin == "journal" and (t.time or 0) <= (line.time or 0)]
        tb = tbs[-1] if tbs else None
        evidence = [journal_excerpt(line)]
        if tb is not None:
            evidence += _tb_evidence(tb)
        where = frame_excerpt(tb) if tb else None
        raised = tb.last_line if tb else _("an exception (see the journal)")
        explanation = _(
            "The app in {unit} was imported, then a startup/lifespan handler raised "
            "({raised}), so {server} exits before listening and systemd restarts it."
        ).format(unit=unit.name, raised=raised, server=unit.server)
        if where:
            explanation = _(
                "The app in {unit} was imported, then a startup/lifespan handler raised "
                "({raised}) at {where}, so {server} exits before listening and systemd "
                "restarts it."
            ).format(unit=unit.name, raised=raised, server=unit.server, where=where.source)
        yield Hit(
            title=_("{unit}: application startup failed: {raised}").format(
                unit=unit.name, raised=raised),
            evidence=tuple(evidence),
            explanation=explanation,
            fix=Fix(
                summary=(_("Fix what the startup handler raised ({where}: `{code}`), then "
                           "restart the service.").format(where=where.source, code=where.text)
                         if where else
                         _("Fix what the startup handler raised, then restart the service.")),
                commands=(logs_command(unit.name, 80, "-o cat"),
                          *((f"sed -n '1,{where.source.rsplit(':', 1)[1]}p' "
                             f"{where.source.rsplit(':', 1)[0]} | tail -20",) if where else ()),
                          restart_command(unit.name)),
            ),
            links=(Link("unit", unit.name), Link("log", tb.last_line if tb else line.message)),
        )


# Standard-library names and the Python version that added them.
ADDED: dict[str, dict[str, tuple[int, int]]] = {
    "typing": {
        **dict.fromkeys(("Literal", "Final", "final", "Protocol", "TypedDict", "runtime_checkable",
                         "SupportsIndex", "get_origin", "get_args"), (3, 8)),
        "Annotated": (3, 9),
        **dict.fromkeys(("ParamSpec", "Concatenate", "TypeAlias", "TypeGuard", "is_typeddict",
                         "ParamSpecArgs", "ParamSpecKwargs"), (3, 10)),
        **dict.fromkeys(("Self", "LiteralString", "Never", "assert_never", "assert_type",
                         "reveal_type", "dataclass_transform", "Required", "NotRequired",
                         "TypeVarTuple", "Unpack", "get_overloads", "clear_overloads"), (3, 11)),
        **dict.fromkeys(("override", "TypeAliasType"), (3, 12)),
        **dict.fromkeys(("TypeIs", "ReadOnly", "NoDefault", "get_protocol_members",
                         "is_protocol"), (3, 13)),
    },
    "types": {"GenericAlias": (3, 9), "NoneType": (3, 10), "EllipsisType": (3, 10),
              "NotImplementedType": (3, 10), "UnionType": (3, 10),
              "get_original_bases": (3, 12)},
    "datetime": {"UTC": (3, 11)},
    "enum": dict.fromkeys(("StrEnum", "ReprEnum", "EnumCheck", "FlagBoundary", "verify",
                           "member", "nonmember", "global_enum"), (3, 11)),
    "itertools": {"pairwise": (3, 10), "batched": (3, 12)},
    "functools": {"cache": (3, 9)},
    "contextlib": {"aclosing": (3, 10), "chdir": (3, 11)},
    "asyncio": {"to_thread": (3, 9), "TaskGroup": (3, 11), "timeout": (3, 11),
                "timeout_at": (3, 11), "Runner": (3, 11), "Barrier": (3, 11),
                "eager_task_factory": (3, 12), "QueueShutDown": (3, 13)},
    "collections.abc": {"Buffer": (3, 12)},
    "warnings": {"deprecated": (3, 13)},
    "math": {"lcm": (3, 9), "cbrt": (3, 11), "exp2": (3, 11), "sumprod": (3, 12),
             "fma": (3, 13)},
    "hashlib": {"file_digest": (3, 11)},
    "operator": {"call": (3, 11)},
    "inspect": {"get_annotations": (3, 10), "markcoroutinefunction": (3, 12)},
}
ADDED_MODULES = {"zoneinfo": (3, 9), "graphlib": (3, 9), "tomllib": (3, 11)}
REMOVED_MODULES = {
    **dict.fromkeys(("distutils", "imp", "asynchat", "asyncore", "smtpd"), (3, 12)),
    **dict.fromkeys(("cgi", "cgitb", "crypt", "imghdr", "sndhdr", "telnetlib", "pipes", "nntplib",
                     "audioop", "chunk", "mailcap", "msilib", "nis", "ossaudiodev", "spwd",
                     "sunau", "uu", "xdrlib", "aifc", "lib2to3"), (3, 13)),
}
# Syntax and the version that introduced it: PEP 695 (3.12), except* (3.11), match (3.10).
NEW_SYNTAX = (
    (re.compile(r"^\s*type\s+\w+\s*(\[[^\]]*\])?\s*="), (3, 12),
     N_("the `type X = ...` statement")),
    (re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+\w+\s*\["), (3, 12),
     N_("type parameter lists (`def f[T](...)`)")),
    (re.compile(r"^\s*except\s*\*"), (3, 11), "`except*`"),
    (re.compile(r"^\s*match\s+\S.*:\s*$|^\s*case\s+\S.*:\s*$"), (3, 10),
     N_("the `match` statement")),
)
# What _needs names, as the reader reads it (a dotted stdlib name stays as it is).
_WHAT_SHOWN = (N_("`X | Y` union types at runtime"), N_("built-in generics such as `list[int]`"))


def _shown(what: str) -> str:
    if what.startswith("the module "):
        return _("the module {name}").format(name=what.removeprefix("the module "))
    return _(what) if " " in what else what
_IMPORT_NAME_RE = re.compile(r"cannot import name '([\w]+)' from '([\w.]+)'")
_ATTR_RE = re.compile(r"module '([\w.]+)' has no attribute '(\w+)'")
_NO_MODULE_RE = re.compile(r"No module named '([\w.]+)'")
_PY_PATH_RE = re.compile(r"/python(\d)\.(\d+)/")


def _version(text: str | None) -> tuple[int, int] | None:
    m = re.match(r"(\d+)\.(\d+)", text or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _unit_python(facts: Facts, unit: str, tb: Traceback) -> tuple[tuple[int, int] | None, Excerpt]:
    for info in facts.pythons or ():
        if info.unit == unit and info.version:
            return _version(info.version), Excerpt(
                f"python.version:{unit}", f"{info.interpreter} --version: Python {info.version}")
    m = _PY_PATH_RE.search(tb.text + tb.last_line)
    found = (int(m.group(1)), int(m.group(2))) if m else None
    return found, Excerpt(tb.source, f"the traceback's stdlib paths are python{m.group(1)}."
                          f"{m.group(2)}" if m else "the interpreter version is not known")


def _needs(tb: Traceback, have: tuple[int, int]) -> tuple[tuple[int, int], str, bool] | None:
    """(version, what, needs_newer) when tb shows code written for another Python."""
    msg = tb.exc_message
    kind = tb.exc_type.split(".")[-1]
    m = _IMPORT_NAME_RE.search(msg) if kind == "ImportError" else None
    a = _ATTR_RE.search(msg) if kind == "AttributeError" else None
    name_mod = (m.group(2), m.group(1)) if m else (a.group(1), a.group(2)) if a else None
    if name_mod:
        added = ADDED.get(name_mod[0], {}).get(name_mod[1])
        if added and added > have:
            return added, f"{name_mod[0]}.{name_mod[1]}", True
    n = _NO_MODULE_RE.search(msg) if kind == "ModuleNotFoundError" else None
    if n:
        top = n.group(1).split(".")[0]
        if top in ADDED_MODULES and ADDED_MODULES[top] > have:
            return ADDED_MODULES[top], f"the module {top}", True
        if top in REMOVED_MODULES and REMOVED_MODULES[top] <= have:
            return REMOVED_MODULES[top], f"the module {top}", False
    if kind in ("SyntaxError", "IndentationError"):
        code = tb.text.splitlines()[-1] if tb.text else ""
        frame = frame_excerpt(tb)
        for line in (frame.text if frame else "", code):
            for pattern, version, what in NEW_SYNTAX:
                if pattern.search(line) and version > have:
                    return version, what, True
    if kind == "TypeError" and "unsupported operand type(s) for |" in msg and have < (3, 10):
        return (3, 10), "`X | Y` union types at runtime", True
    if kind == "TypeError" and "object is not subscriptable" in msg and have < (3, 9):
        return (3, 9), "built-in generics such as `list[int]`", True
    return None


@rule(id="GD-APP-005", symbol="python-version", category="app.python_version",
      severity=Severity.ERROR, needs=("tracebacks",), layer="app",
      explains=LOOP_SYMPTOMS + ("app.startup_failed", "app.missing_dependency"),
      title=N_("The code needs another Python version than the one the service runs"))
def python_version(facts: Facts) -> Iterator[Hit]:
    """An stdlib name, module or syntax newer (or removed earlier) than the unit's interpreter."""
    for unit_name, tbs in tracebacks_by_unit(facts).items():
        tb = next((t for t in reversed(tbs) if t.origin == "journal"), tbs[-1])
        have, version_line = _unit_python(facts, unit_name, tb)
        need = _needs(tb, have) if have else None
        if need is None or have is None:
            continue
        version, what, newer = need
        unit = facts.unit(unit_name)
        python = python_of(facts, unit) if unit else "python3"
        want = f"{version[0]}.{version[1]}"
        runs = f"{have[0]}.{have[1]}"
        rule_text = (f"{what} exists since Python {want}" if newer
                     else f"{what} was removed in Python {want}")
        shown = _shown(what)
        said = (_("{what} exists since Python {want}") if newer
                else _("{what} was removed in Python {want}")).format(what=shown, want=want)
        venv = python.rsplit("/bin/", 1)[0] if "/bin/" in python else None
        wd = unit.working_directory if unit else None
        new_py = f"python{want}" if newer else f"python3.{version[1] - 1}"
        yield Hit(
            title=_("{unit}: {error} ({said}; the service runs Python {runs})").format(
                unit=unit_name, error=tb.last_line, said=said, runs=runs),
            evidence=(*_tb_evidence(tb), version_line,
                      Excerpt("python stdlib", rule_text)),
            explanation=(_(
                "{unit} runs {python}, which is Python {runs}. The code uses {what}, which "
                "needs Python {want} or newer, so the import fails and the app never starts."
            ) if newer else _(
                "{unit} runs {python}, which is Python {runs}. The code uses {what}, which "
                "Python {want} and later no longer have, so the import fails and the app never "
                "starts.")).format(unit=unit_name, python=python, runs=runs, what=shown,
                                   want=want),
            fix=Fix(
                summary=((_("Run the service on Python {want}+ (recreate its virtualenv with "
                            "{new_py}), or change the code to work on {runs} (typing_extensions "
                            "has the newer typing names).") if "typing" in what else
                          _("Run the service on Python {want}+ (recreate its virtualenv with "
                            "{new_py}), or change the code to work on {runs}.")
                          ).format(want=want, new_py=new_py, runs=runs) if newer else
                         _("Run the service on Python {older} or older, or replace {what} (see "
                           "the Python {want} release notes).").format(
                               older=f"3.{version[1] - 1}", what=shown, want=want)),
                commands=(
                    *((f"{new_py} -m venv {venv}.new && {venv}.new/bin/pip install -r "
                       f"{wd or '.'}/requirements.txt",
                       f"mv {venv} {venv}.old && mv {venv}.new {venv}") if venv else ()),
                    restart_command(unit_name),
                ),
            ),
            links=_links(unit_name, tb),
        )
