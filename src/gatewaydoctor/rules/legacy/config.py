"""Rules about the service's configuration: EnvironmentFile/.env missing, a variable unset."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from ...facts import EnvFile, Facts, Traceback, Unit
from ...findings import Excerpt, Fix, Hit, Link, Severity
from ...i18n import _
from ..registry import rule
from .common import frame_excerpt, journal_excerpt, restart_command
from .service import LOOP_SYMPTOMS, failing, since_last_start

ENV_LOAD_RE = re.compile(r"Failed to load environment files: (.+)")
# pydantic v2: `<field>` then `  Field required [type=missing, input_value=...]`;
# pydantic v1: `<field>` then `  field required (type=value_error.missing)`.
_FIELD_REQUIRED_RE = re.compile(r"^\s+[Ff]ield required")
_ENVIRON_KEY_RE = re.compile(r"environ\s*\[\s*['\"](\w+)['\"]\s*\]")


def missing_fields(tb: Traceback) -> list[str]:
    """Settings fields a pydantic ValidationError reports as missing (`Field required`)."""
    if not tb.exc_type.endswith("ValidationError"):
        return []
    lines = list(tb.detail) or tb.exc_message.splitlines()[1:]
    return [lines[i - 1].strip() for i in range(1, len(lines))
            if _FIELD_REQUIRED_RE.match(lines[i]) and lines[i - 1].strip()]


def _environ_key(tb: Traceback) -> str | None:
    if tb.exc_type.split(".")[-1] != "KeyError":
        return None
    frame = frame_excerpt(tb)
    m = _ENVIRON_KEY_RE.search(frame.text) if frame else None
    return m.group(1) if m else None


def _env_files(facts: Facts, unit: Unit) -> list[EnvFile]:
    paths = [p for p, _optional in unit.environment_files]
    if unit.working_directory:
        paths.append(os.path.join(unit.working_directory, ".env"))
    seen = {e.path: e for e in facts.env_files or ()}
    return [seen[p] for p in dict.fromkeys(paths) if p in seen]


def _keys_line(env: EnvFile) -> Excerpt:
    if not env.exists:
        return Excerpt(f"env.keys:{env.path}", env.error or f"{env.path} does not exist")
    keys = ", ".join(env.keys) or "(none)"
    return Excerpt(f"env.keys:{env.path}", f"{env.path} sets: {keys} (keys only, values not read)")


def _validation_excerpts(tb: Traceback, fields: list[str]) -> list[Excerpt]:
    # pydantic prints the input values after `input_value=`: keep them out of the evidence.
    out = [Excerpt(tb.source, tb.last_line)]
    for name in fields:
        out.append(Excerpt(tb.source, f"{name}: Field required [type=missing]"))
    return out


def _latest_settings_error(facts: Facts, unit: str) -> tuple[Traceback, list[str]] | None:
    tbs = facts.tracebacks_of(unit)
    ordered = [t for t in tbs if t.origin == "journal"][::-1] + \
        [t for t in tbs if t.origin != "journal"]
    for tb in ordered:
        fields = missing_fields(tb)
        key = _environ_key(tb)
        if fields or key:
            return tb, fields or [key or ""]
    return None


@rule(id="GD-CFG-001", symbol="env-missing", category="config.env_missing",
      severity=Severity.ERROR, needs=("units",), layer="app",
      explains=LOOP_SYMPTOMS + ("app.startup_failed",),
      title="The service's EnvironmentFile/.env is missing or a required variable is unset")
def env_missing(facts: Facts) -> Iterator[Hit]:
    """systemd cannot load EnvironmentFile=, or the settings class misses a required variable."""
    for unit in facts.web_units():
        if not failing(facts, unit):
            continue
        envs = _env_files(facts, unit)
        load = next((e for e in reversed(since_last_start(facts, unit.name))
                     if e.identifier == "systemd" and ENV_LOAD_RE.search(e.message)), None)
        settings = _latest_settings_error(facts, unit.name)
        if load is None and settings is None:
            continue
        evidence: list[Excerpt] = []
        configured = [p for p, optional in unit.environment_files if not optional]
        missing_files = [e for e in envs if not e.exists and e.path in configured]
        if load is not None:
            evidence.append(journal_excerpt(load))
            evidence += [Excerpt(unit.source, f"EnvironmentFile={p}") for p in configured]
            evidence += [_keys_line(e) for e in missing_files]
        names: list[str] = []
        if settings is not None:
            tb, names = settings
            evidence += _validation_excerpts(tb, names) if missing_fields(tb) else \
                [Excerpt(tb.source, tb.last_line)]
            if load is None:
                evidence += [_keys_line(e) for e in envs]
        variables = [n.upper() for n in names if n]
        if load is not None:
            files = ", ".join(configured) or "EnvironmentFile="
            title = _("{unit}: the environment file {files} is missing, systemd does not "
                      "start the service").format(unit=unit.name, files=files)
            explanation = _(
                "systemd could not read EnvironmentFile={files}, so it refuses to start "
                "{unit} at all (result 'resources'); the app never runs."
            ).format(files=files, unit=unit.name)
            if variables:
                explanation = _(
                    "systemd could not read EnvironmentFile={files}, so it refuses to start "
                    "{unit} at all (result 'resources'); the app never runs. Without it the "
                    "settings also lack {variables}."
                ).format(files=files, unit=unit.name, variables=", ".join(variables))
            fix = Fix(
                summary=_("Restore {files} (with the variables the app needs), or fix the path "
                          "in EnvironmentFile= (a leading `-` makes it optional); then "
                          "restart.").format(files=files),
                commands=(*(f"ls -l {p} {os.path.dirname(p)}/.env*" for p in configured[:2]),
                          f"systemctl cat {unit.name}",
                          f"systemctl daemon-reload && systemctl restart {unit.name}"),
            )
        else:
            where = next((e.path for e in envs if e.exists), None) or (
                configured[0] if configured else f"{unit.working_directory or '.'}/.env")
            title = _("{unit}: required setting {variables} is not set ({error})").format(
                unit=unit.name, variables=", ".join(variables),
                error=tb.last_line.split(":", 1)[0].rsplit(".", 1)[-1])
            explanation = _(
                "The app's settings need {variables}, but the environment {unit} runs with "
                "does not set it: it is not in {where} and not in Environment=. The settings "
                "class raises at import, before the app listens."
            ).format(variables=", ".join(variables), unit=unit.name, where=where)
            fix = Fix(
                summary=_("Add {variables} to {where} (or Environment= in the unit), then "
                          "restart.").format(variables=", ".join(variables), where=where),
                commands=(*(f"echo '{v}=...' >> {where}   # " + _("the real value")
                            for v in variables),
                          restart_command(unit.name)),
            )
        yield Hit(title=title, evidence=tuple(evidence), explanation=explanation, fix=fix,
                  links=(Link("unit", unit.name),
                         Link("log", load.message if load else settings[0].last_line
                              if settings else "")))
