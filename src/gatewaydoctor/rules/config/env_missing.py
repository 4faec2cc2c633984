"""The service's EnvironmentFile/.env is missing, or the settings lack a required variable."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from ...categories import LOOP_SYMPTOMS
from ...facts import EnvFile, Facts, JournalEntry, Traceback, Unit
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Cmd, Found, Text, found

ENV_LOAD_RE = re.compile(r"Failed to load environment files: (.+)")

_FILE_TITLE = N_("{unit}: the environment file {files} is missing, systemd does not start the "
                 "service")
_FILE_FIX = N_("Restore {files} (with the variables the app needs), or fix the path in "
               "EnvironmentFile= (a leading `-` makes it optional); then restart.")
_FILE_COMMANDS = ("{ls}", "systemctl cat {unit}",
                  "systemctl daemon-reload && systemctl restart {unit}")


@rule(id="GD-CFG-001", symbol="env-missing", category="config.env_missing",
      severity=Severity.ERROR, layer="app", explains=LOOP_SYMPTOMS + ("app.startup_failed",),
      title="The service's EnvironmentFile/.env is missing or a required variable is unset",
      texts={
          # systemd cannot read EnvironmentFile=: the app never ran.
          "default": Text(_FILE_TITLE, N_(
              "systemd could not read EnvironmentFile={files}, so it refuses to start "
              "{unit} at all (result 'resources'); the app never runs."), _FILE_FIX,
              _FILE_COMMANDS),
          "file_and_variables": Text(_FILE_TITLE, N_(
              "systemd could not read EnvironmentFile={files}, so it refuses to start "
              "{unit} at all (result 'resources'); the app never runs. Without it the "
              "settings also lack {variables}."), _FILE_FIX, _FILE_COMMANDS),
          # The app ran, and its settings class raised for a variable nobody sets.
          "unset": Text(
              N_("{unit}: required setting {variables} is not set ({error})"), N_(
                  "The app's settings need {variables}, but the environment {unit} runs with "
                  "does not set it: it is not in {where} and not in {env_key}=. The settings "
                  "class raises at import, before the app listens."),
              N_("Add {variables} to {where} (or {env_key}= in {definition}), then restart."),
              (Cmd("{echo}", N_("the real value")), "{restart}")),
      })
def env_missing(facts: Facts, units: tuple[Unit, ...]) -> Iterator[Found]:
    """systemd cannot load EnvironmentFile=, or the settings class misses a required variable."""
    for unit in facts.web_units():
        if not facts.failing(unit):
            continue
        load = next((e for e in reversed(facts.since_last_start(unit.name))
                     if e.identifier == "systemd" and ENV_LOAD_RE.search(e.message)), None)
        settings = _settings_error(facts, unit.name)
        if load is not None:
            yield _file_missing(unit, load, settings, _env_files(facts, unit))
        elif settings is not None:
            yield _unset(unit, *settings, _env_files(facts, unit))


def _file_missing(unit: Unit, load: JournalEntry, settings: tuple[Traceback, list[str]] | None,
                  envs: list[EnvFile]) -> Found:
    """systemd could not read EnvironmentFile= (and what the settings would lack)."""
    configured = _configured(unit)
    evidence = [load.excerpt, *(Excerpt(unit.source, f"EnvironmentFile={p}") for p in configured),
                *(e.excerpt for e in envs if not e.exists and e.path in configured)]
    tb, names = settings or (None, [])
    variables = ", ".join(_variables(names))
    return found(evidence + (_settings_evidence(tb, names) if tb else []),
                 [Link("unit", unit.name), Link("log", load.message)],
                 text="file_and_variables" if variables else "default", unit=unit.name,
                 files=", ".join(configured) or "EnvironmentFile=", variables=variables,
                 ls=tuple(f"ls -l {p} {os.path.dirname(p)}/.env*" for p in configured[:2]))


def _unset(unit: Unit, tb: Traceback, names: list[str], envs: list[EnvFile]) -> Found:
    """The app ran and its settings raised: where to add the variables."""
    configured = _configured(unit)
    where = next((e.path for e in envs if e.exists), None) or (
        configured[0] if configured else f"{unit.working_directory or '.'}/.env")
    return found([*_settings_evidence(tb, names), *(e.excerpt for e in envs)],
                 [Link("unit", unit.name), Link("log", tb.last_line)], text="unset",
                 unit=unit.name, variables=", ".join(_variables(names)), where=where,
                 error=tb.last_line.split(":", 1)[0].rsplit(".", 1)[-1],
                 echo=tuple(f"echo '{v}=...' >> {where}" for v in _variables(names)))


def _configured(unit: Unit) -> list[str]:
    """The EnvironmentFile= paths systemd must read (a leading `-` makes one optional)."""
    return [p for p, optional in unit.environment_files if not optional]


def _variables(names: list[str]) -> list[str]:
    return [n.upper() for n in names if n]


def _env_files(facts: Facts, unit: Unit) -> list[EnvFile]:
    """The unit's EnvironmentFile= and WorkingDirectory/.env, as far as they were read."""
    paths = [p for p, _optional in unit.environment_files]
    if unit.working_directory:
        paths.append(os.path.join(unit.working_directory, ".env"))
    seen = {e.path: e for e in facts.env_files or ()}
    return [seen[p] for p in dict.fromkeys(paths) if p in seen]


def _settings_error(facts: Facts, unit: str) -> tuple[Traceback, list[str]] | None:
    """The newest traceback naming a missing setting, and the names it misses."""
    for tb in facts.tracebacks_latest_first(unit):
        if tb.missing_fields or tb.environ_key:
            return tb, tb.missing_fields or [tb.environ_key or ""]
    return None


def _settings_evidence(tb: Traceback, names: list[str]) -> list[Excerpt]:
    # pydantic prints the input values after `input_value=`: keep them out of the evidence.
    fields = names if tb.missing_fields else []
    return [Excerpt(tb.source, tb.last_line),
            *(Excerpt(tb.source, f"{name}: Field required [type=missing]") for name in fields)]
