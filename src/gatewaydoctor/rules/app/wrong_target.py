"""The server cannot import the app module, or the module has no such attribute."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Tuple

from ...categories import LOOP_SYMPTOMS
from ...facts import Facts, JournalEntry, Traceback, Unit
from ...facts.signatures import (
    APP_TARGET_RES,
    NO_ATTRIBUTE_RE,
    NO_MODULE_NAMED_RE,
    UWSGI_NO_APP_RE,
    UWSGI_NO_PYTHON_APP_RE,
)
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Text, found

Evidence = Tuple[Tuple[Excerpt, ...], str]


@rule(id="GD-APP-003", symbol="wrong-target", category="app.wrong_target",
      severity=Severity.ERROR, layer="app", explains=LOOP_SYMPTOMS + ("app.startup_failed",),
      title=N_("The server cannot import the app module or find the app attribute"),
      texts=Text(
          title=N_("{unit}: cannot load {target}"),
          explanation=N_(
              "{unit} runs {server} with {target} from {workdir}, and that module or "
              "attribute is not there ({line}). Check {folder_key}=, --app-dir/--chdir "
              "and the name of the FastAPI object."),
          fix=N_("Point {unit} at the module and attribute that exist: set "
                 "{folder_key}= to the folder holding the module, or fix "
                 "`module:attr`."),
          commands=("ls {workdir}", "{reconfigure}")))
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
    """What the server logged about the target, newest first (every server's words:
    facts/signatures.py); uWSGI's `unable to load app` only when no traceback names another
    cause (a missing package, a relative import), and with its `no python application found`
    answers, which it gives while it stays up."""
    entries = facts.journal_of(unit.name)
    for e in reversed(entries):
        if any(p.search(e.message) for p in APP_TARGET_RES) and _names_app(entries, e, unit):
            return (e.excerpt,), e.message
        if UWSGI_NO_APP_RE.search(e.message) and not _other_cause(facts, unit):
            return (*_before(entries, e), e.excerpt, *_no_app(entries, e)), e.message
    return None


def _names_app(entries: list[JournalEntry], line: JournalEntry, unit: Unit) -> bool:
    """Unless the same process said `No module named 'x'` of a module that is not the app's
    (waitress prints that, not a traceback, for a missing dependency too)."""
    named = [m.group(1) for e in entries if e.pid == line.pid
             and (m := NO_MODULE_NAMED_RE.search(e.message))]
    return not named or unit.is_app_module(named[-1])


def _before(entries: list[JournalEntry], line: JournalEntry) -> list[Excerpt]:
    """The bare exception uWSGI printed just before `unable to load app`, if any."""
    i = entries.index(line)
    prev = entries[i - 1].message if i else ""
    return [entries[i - 1].excerpt] if prev.split(":")[0].endswith(("Error", "Exception")) \
        else []


def _no_app(entries: list[JournalEntry], line: JournalEntry) -> list[Excerpt]:
    """uWSGI's answer to the requests that came after: `no python application found`."""
    later = entries[entries.index(line) + 1:]
    return [e.excerpt for e in later if UWSGI_NO_PYTHON_APP_RE.search(e.message)][-1:]


def _other_cause(facts: Facts, unit: Unit) -> bool:
    """A traceback whose cause is not the target: another rule names it."""
    tbs = [t for t in facts.tracebacks_of(unit.name) if t.origin == "journal"]
    name = tbs[-1].missing_module if tbs else None
    return bool(tbs) and not (name and unit.is_app_module(name))


def _raised(facts: Facts, unit: Unit) -> Evidence | None:
    """A ModuleNotFoundError naming the app module itself, or an AttributeError for the app
    attribute of the app module."""
    tb = facts.latest_traceback(unit.name, ("ModuleNotFoundError", "AttributeError"))
    name = tb.missing_module if tb else None
    attr = NO_ATTRIBUTE_RE.search(tb.exc_message) if tb else None
    if tb is not None and name and unit.is_app_module(name):
        return tb.excerpts, tb.last_line
    if tb is not None and attr and unit.app and (attr.group(1), attr.group(2)) == (
            unit.app.module, unit.app.attr):  # daphne, granian: getattr(module, attr)
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
