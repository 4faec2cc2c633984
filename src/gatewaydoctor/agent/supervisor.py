"""supervisord: its programs' config, `supervisorctl status` and the logs it keeps.

Standard library only and read-only. The config is read with configparser the way
supervisord reads it (the main file and its `[include] files=` globs); only the
environment's KEYS are recorded. gather.py runs the import probe for each web
program through the same code as for a systemd unit, named `supervisor:<program>`.
"""

import glob
import os
import re
import shlex
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from ..formats import execspec, sources
from .runner import Item, new_item, run, which

if TYPE_CHECKING:
    import configparser

CONFIG_PATHS = ("/etc/supervisor/supervisord.conf", "/etc/supervisord.conf",
                "/etc/supervisor/supervisor.conf")
STATUS_TIMEOUT = 8.0
MAX_INCLUDES = 50
MAX_CONF_BYTES = 256 * 1024
LOG_BYTES = 128 * 1024
LOG_LINES = 400
# `KEY="value",KEY2=value` (supervisor's environment= syntax).
_ENV_RE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^,]*)\s*,?")
_PROGRAM_FIELDS = ("command", "directory", "user", "stdout_logfile", "stderr_logfile",
                   "redirect_stderr", "autostart", "autorestart", "startsecs", "startretries")


def present(processes: List[Dict[str, Any]]) -> bool:
    """supervisord runs, or its config directory exists."""
    return os.path.isdir("/etc/supervisor") or bool(supervisord_config(processes)[1])


def supervisord_config(processes: List[Dict[str, Any]]) -> Tuple[Optional[str], bool]:
    """(the config path supervisord runs with or would read, whether a supervisord runs)."""
    running = False
    for proc in processes:
        argv = [str(a) for a in proc.get("cmdline") or []]
        if not any(os.path.basename(a) == "supervisord" for a in argv[:2]):
            continue
        running = True
        for i, a in enumerate(argv):
            if a in ("-c", "--configuration") and i + 1 < len(argv):
                return argv[i + 1], True
            if a.startswith("--configuration="):
                return a.split("=", 1)[1], True
    return next((p for p in CONFIG_PATHS if os.path.isfile(p)), None), running


def parse_environment(value: str) -> List[Tuple[str, str]]:
    """Parse supervisor's `environment=A="1",B=two` into pairs."""
    pairs = []
    for m in _ENV_RE.finditer(value or ""):
        raw = m.group(2).strip()
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
            raw = raw[1:-1]
        pairs.append((m.group(1), raw))
    return pairs


def _expand(value: str, here: str, name: str) -> str:
    return (value.replace("%(here)s", here).replace("%(program_name)s", name)
            .replace("%(process_num)d", "0").replace("%(process_num)02d", "00"))


def _parser() -> "configparser.RawConfigParser":
    import configparser  # only where supervisord is: ~3 ms of imports otherwise

    return configparser.RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False,
                                        interpolation=None)


def read_config(source: str, path: str) -> Tuple[Item, List[Tuple[str, Dict[str, str]]]]:
    """Read the supervisord config; return the item (env KEYS only) and each web program's
    unit-like properties (ExecStart, WorkingDirectory, User, Environment) for the probes."""
    import configparser

    item = new_item(source, "listing", path=path)
    files: List[str] = []
    errors: List[str] = []
    programs: List[Dict[str, Any]] = []
    props_out: List[Tuple[str, Dict[str, str]]] = []
    main = _parser()
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            main.read_string(fh.read(MAX_CONF_BYTES), source=path)
        files.append(path)
    except OSError as exc:
        kind = "permission" if isinstance(exc, PermissionError) else "missing"
        item.update(error=f"cannot read {path}: {exc.strerror}", error_kind=kind)
        return item, []
    except configparser.Error as exc:
        item.update(error=f"cannot parse {path}: {exc}", error_kind="failed")
        return item, []
    sections: List[Tuple[str, str, configparser.SectionProxy]] = [
        (path, s, main[s]) for s in main.sections()]
    here = os.path.dirname(path)
    if main.has_option("include", "files"):
        for pattern in main.get("include", "files").split():
            pattern = _expand(pattern, here, "")
            if not os.path.isabs(pattern):
                pattern = os.path.join(here, pattern)
            for inc in sorted(glob.glob(pattern))[:MAX_INCLUDES]:
                cp = _parser()
                try:
                    with open(inc, encoding="utf-8", errors="replace") as fh:
                        cp.read_string(fh.read(MAX_CONF_BYTES), source=inc)
                except (OSError, configparser.Error) as exc:
                    errors.append(f"{inc}: {getattr(exc, 'strerror', None) or exc}")
                    continue
                files.append(inc)
                sections += [(inc, s, cp[s]) for s in cp.sections()]
    logfile = main.get("supervisord", "logfile", fallback=None) if main.has_section(
        "supervisord") else None
    for file, section, body in sections:
        if not section.startswith(("program:", "fcgi-program:")):
            continue
        name = section.split(":", 1)[1]
        fhere = os.path.dirname(file)
        prog: Dict[str, Any] = {"name": name, "file": file}
        for key in _PROGRAM_FIELDS:
            value = body.get(key)
            prog[key] = _expand(value, fhere, name) if value is not None else None
        env = parse_environment(body.get("environment") or "")
        prog["environment_keys"] = [k for k, _ in env]
        programs.append(prog)
        argv = _split(prog["command"] or "")
        if execspec.server_of(argv) in (None, "python"):
            continue
        props = {"ExecStart": prog["command"] or "", "WorkingDirectory": prog["directory"] or "",
                 "User": prog["user"] or "",
                 "Environment": " ".join(shlex.quote(f"{k}={v}") for k, v in env)}
        props_out.append((name, props))
    childlogdir = main.get("supervisord", "childlogdir", fallback=None) if main.has_section(
        "supervisord") else None
    item["data"] = {"files": files, "errors": errors, "programs": programs,
                    "logfile": _expand(logfile, here, "") if logfile else None,
                    "childlogdir": _expand(childlogdir, here, "") if childlogdir else "/tmp"}
    return item, props_out


def _split(command: str) -> List[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def status(source: str, config: Optional[str]) -> Item:
    """`supervisorctl status` (its rc is non-zero whenever a program is not RUNNING)."""
    ctl = which("supervisorctl")
    if ctl is None:
        return new_item(source, "command", error="supervisorctl is not installed",
                        error_kind="missing")
    argv = [ctl] + (["-c", config] if config else []) + ["status"]
    return run(source, argv, timeout=STATUS_TIMEOUT)


def log_paths(item: Item) -> List[Tuple[str, str]]:
    """(source, path) of supervisord's log and each web program's stdout/stderr logs."""
    data = item.get("data") or {}
    out: List[Tuple[str, str]] = []
    main_log = data.get("logfile") or "/var/log/supervisor/supervisord.log"
    if main_log.startswith("/"):
        out.append((sources.SUPERVISOR_LOG, main_log))
    for prog in data.get("programs", []):
        if execspec.server_of(_split(prog.get("command") or "")) in (None, "python"):
            continue
        for stream in ("stdout", "stderr"):
            path = prog.get(f"{stream}_logfile")
            if path is None or path.upper() == "AUTO":
                path = _auto_log(data.get("childlogdir") or "/tmp", prog["name"], stream)
            if path and path.startswith("/") and path.upper() != "NONE":
                out.append((sources.supervisor_output(stream, prog["name"]), path))
    return out


def _auto_log(childlogdir: str, name: str, stream: str) -> Optional[str]:
    """The newest `<name>-<stream>---supervisor-XXXX.log` supervisord made for logfile=AUTO."""
    found = glob.glob(os.path.join(glob.escape(childlogdir),
                                   f"{glob.escape(name)}-{stream}---supervisor-*.log"))
    try:
        return max(found, key=os.path.getmtime) if found else None
    except OSError:
        return None
