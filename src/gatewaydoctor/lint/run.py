"""The application function of `gatewaydoctor lint`: read the inputs, run every check,
return the findings (data; the CLI prints them)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

from ..errors import UsageError
from ..i18n import _, current_language
from ..parse.nginx_config import read_config
from ..rules import render
from . import read
from .model import Inputs, LintFinding, LintResult, ServiceFile
from .registry import Check, all_checks


class LintOptions(NamedTuple):
    """What to lint: files (none: this host's own) and whether they are for this machine."""

    files: Sequence[str] = ()
    offline: bool = False
    only: Sequence[str] = ()
    skip: Sequence[str] = ()


def from_files(paths: Sequence[str], offline: bool) -> Inputs:
    """Read the files given: units with the drop-ins given beside them, programs, nginx."""
    names = {os.path.abspath(p): p for p in paths}
    texts = {a: read.read_text(p) for a, p in names.items()}
    kinds = {a: read.kind_of(a, t) for a, t in texts.items()}
    services = _services(texts, kinds)
    configs, errors, opaque = [], [], set()
    for a in (a for a, kind in kinds.items() if kind == "nginx"):
        errors += [] if "_by_lua" in texts[a] else read.nginx_errors(a, texts[a])
        configs.append(read_config(read.nginx_dump(a, texts[a]), f"read from {names[a]}"))
        opaque |= read.opaque_blocks(a, texts[a], list(names))
    return Inputs(services=tuple(read.with_ini(s, offline) for s in services),
                  nginx=tuple(configs), nginx_errors=tuple(errors), offline=offline,
                  files=tuple(paths), opaque=frozenset(opaque), names=names)


def _services(texts: dict[str, str], kinds: dict[str, str]) -> list[ServiceFile]:
    """The units (with the drop-ins given beside them) and supervisor programs."""
    services: list[ServiceFile] = []
    dropins: dict[str, list[tuple[str, str]]] = {}
    for p, kind in kinds.items():
        if kind == "dropin":
            unit = os.path.basename(os.path.dirname(p))[:-2]
            dropins.setdefault(unit, []).append((p, texts[p]))
    for p, kind in kinds.items():
        if kind == "unit":
            name = os.path.basename(p)
            services.append(read.unit(p, texts[p], sorted(dropins.pop(name, [])), name))
        elif kind == "supervisor":
            services += read.programs(p, texts[p])
    for unit, found in dropins.items():  # drop-ins whose unit was not given
        first, text = sorted(found)[0]
        services.append(read.unit(first, text, sorted(found)[1:], unit))
    return services


def from_host() -> Inputs:
    """This host's own units, programs and nginx configurations, and what listens now."""
    from . import host

    services, configs, errors, listening = host.gather()
    files = [s.file for s in services] + [f for c in configs for f in c.files if f != "<lint>"]
    return Inputs(services=tuple(services), nginx=tuple(configs), nginx_errors=tuple(errors),
                  listening=tuple(listening), files=tuple(dict.fromkeys(files)))


def selected(checks: list[Check], only: Sequence[str], skip: Sequence[str]) -> list[Check]:
    """The checks whose rule is named in only (all when empty) and not in skip."""
    known = {c.id for c in checks} | {c.symbol for c in checks}
    for name in (*only, *skip):
        if name not in known:
            raise UsageError(_("no lint check reports {name} (see `gatewaydoctor rules`)")
                             .format(name=repr(name)))
    def named(c: Check, names: Sequence[str]) -> bool:
        return c.id in names or c.symbol in names

    return [c for c in checks if (not only or named(c, only)) and not named(c, skip)]


def findings(inputs: Inputs, checks: list[Check]) -> list[LintFinding]:
    """Run the checks and render each hit's message in the reader's language, naming each
    file as it was given."""
    out = []
    for c in checks:
        catalog = render.catalog(c.symbol, current_language())
        for h in c.detector(inputs):
            out.append(LintFinding(inputs.names.get(h.file, h.file), h.line, c.id, c.symbol,
                                   c.category, c.severity,
                                   render.fill(c.message, h.values, catalog)))
    return sorted(set(out), key=lambda f: (f.file, f.line, f.rule, f.message))


def not_evaluated(inputs: Inputs, checks: list[Check]) -> tuple[tuple[str, str], ...]:
    """The checks that had nothing to judge by, and why."""
    if inputs.knows_binds or not inputs.nginx:
        return ()
    return tuple((c.symbol, _("no unit or program given says where the app listens"))
                 for c in checks if c.symbol == "upstream-mismatch")


def lint(options: LintOptions) -> LintResult:
    """Lint the files given, or this host's own: the findings, the files read."""
    checks = selected(all_checks(), options.only, options.skip)
    inputs = from_files(options.files, options.offline) if options.files else from_host()
    return LintResult(tuple(findings(inputs, checks)), inputs.files,
                      not_evaluated(inputs, checks))
