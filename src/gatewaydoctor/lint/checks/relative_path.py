"""A path in a unit or program that is not absolute: systemd refuses a relative
ExecStart program path and ignores a relative WorkingDirectory= or EnvironmentFile=
(systemd.service(5), systemd.exec(5)); supervisor resolves a relative one against
supervisord's own working directory, not the file's folder."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Severity
from ...i18n import N_
from ..model import Hit, Inputs, ServiceFile, Setting, hit
from ..registry import check


def _relative(path: str, home_ok: bool) -> bool:
    path = path.lstrip("-!@+:")
    return bool(path) and not path.startswith("/") and not (home_ok and path.startswith("~"))


def _suspects(s: ServiceFile) -> Iterator[tuple[Setting, str]]:
    cmd = s.get("command")
    if cmd is not None and s.argv and "/" in s.argv[0] and _relative(s.argv[0], False):
        yield cmd, s.argv[0]
    workdir = s.get("workdir")
    if workdir is not None and _relative(workdir.value, s.manager == "systemd"):
        yield workdir, workdir.value
    for env in s.all("EnvironmentFile") if s.manager == "systemd" else ():
        if _relative(env.value, False):
            yield env, env.value


@check(id="GD-LNT-001", symbol="relative-path", category="service.relative_path",
       severity=Severity.ERROR,
       title=N_("A unit or program names a path that is not absolute"),
       message=N_("{key}={value}: {path} is not an absolute path. systemd refuses a relative "
                  "program path and ignores a relative WorkingDirectory= or EnvironmentFile=; "
                  "supervisor resolves it against supervisord's own directory, not this "
                  "file's. Write the absolute path."))
def relative_path(inputs: Inputs) -> Iterator[Hit]:
    """ExecStart's program, WorkingDirectory, EnvironmentFile (and supervisor's command and
    directory) given as relative paths."""
    for s in inputs.services:
        for setting, path in _suspects(s):
            yield hit(setting, key=setting.key, value=setting.value, path=path)
