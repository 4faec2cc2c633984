"""The service's own Python: interpreter, version, EnvironmentFile keys and the import probe.

The import probe runs the unit's interpreter, in the unit's WorkingDirectory, with
the unit's environment and as the unit's User=, and imports the app target the
way the server would. It reproduces an ImportError even after the journal rotated.
"""

import json
import os
import pwd
import re
import time
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from ..formats import execspec, systemd
from . import procfs
from .runner import Item, new_item, read_file, run

IMPORT_TIMEOUT = 10.0
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
RESULT_MARK = "@@gatewaydoctor-import-result@@"
PROBE_LABEL = "<gatewaydoctor import probe>"
_INPUT_VALUE = re.compile(r"(input_value=)(\{.*?\}|'[^']*'|\"[^\"]*\"|\S+)(?=, input_type=|\]|$)",
                          re.M)
_SECRET_KEY = re.compile(r"PASS|SECRET|TOKEN|KEY|CREDENTIAL|AUTH|DSN|URL|URI", re.I)

# Runs inside the unit's interpreter, which may be any Python 3: keep it plain. The app
# probe (appprobe.py) runs IMPORT_BODY after its database logins.
IMPORT_BODY = r"""
paths, module, attr, mark = json.loads(sys.argv[1])[:4]
if not module:
    sys.stdout.write("\n" + mark + json.dumps({"stage": "skipped", "ok": None,
                                               "python": sys.version.split()[0]}) + "\n")
    sys.exit(0)
for p in reversed(paths):
    sys.path.insert(0, p)
result = {"stage": "import", "ok": False, "python": sys.version.split()[0]}
try:
    mod = importlib.import_module(module)
    result["module_file"] = getattr(mod, "__file__", None)
    result["stage"] = "attribute"
    obj = mod
    for part in attr.split("."):
        obj = getattr(obj, part)
    result["ok"] = True
except BaseException as exc:
    traceback.print_exc()
    result["exc_type"] = type(exc).__name__
    result["exc_message"] = str(exc)
    result["exc_name"] = getattr(exc, "name", None)
sys.stdout.write("\n" + mark + json.dumps(result) + "\n")
sys.exit(0 if result["ok"] else 1)
"""


class ImportPlan(NamedTuple):
    """How the import probe runs: the unit's interpreter, directory, environment and user."""

    python: str
    cwd: str
    paths: List[str]
    target: execspec.AppTarget
    env: Dict[str, str]
    env_keys: List[str]
    secrets: List[str]
    user: Optional[str]
    group: Optional[str]
    ran_as: str
    note: Optional[str]


def interpreter(argv: List[str]) -> Optional[str]:
    """Return the Python an ExecStart argv runs (following a console script's shebang)."""
    if not argv:
        return None
    exe = argv[0]
    if os.path.basename(exe).startswith("python"):
        return exe
    try:
        with open(exe, "rb") as fh:
            first = fh.readline(512).decode("utf-8", "replace").strip()
    except OSError:
        return None
    if first.startswith("#!"):
        words = first[2:].split()
        if words and os.path.basename(words[0]) == "env" and len(words) > 1:
            return words[1]
        if words:
            return words[0]
    return None


def env_keys(source: str, path: str) -> Item:
    """Record which variables an EnvironmentFile/.env sets: keys only, never values."""
    item = read_file(source, path, max_bytes=256 * 1024)
    text = item.pop("stdout", None) or ""
    item["stdout"] = None
    if item["error"] is None:
        item["data"] = {"keys": [k for k, _ in systemd.parse_env_file(text)]}
    return item


def unit_environment(props: Dict[str, str],
                     user: Optional[str]) -> Tuple[Dict[str, str], List[str]]:
    """Build the environment systemd would give the service, and the values to scrub from output."""
    env = {"PATH": SYSTEMD_PATH, "LANG": os.environ.get("LANG", "C.UTF-8")}
    if user:
        try:
            pw = pwd.getpwnam(user)
            env.update(HOME=pw.pw_dir, USER=pw.pw_name, LOGNAME=pw.pw_name, SHELL=pw.pw_shell)
        except KeyError:
            pass
    secrets: List[str] = []
    for path, _optional in systemd.environment_files(props.get("EnvironmentFiles", "")):
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                pairs = systemd.parse_env_file(fh.read(256 * 1024))
        except OSError:
            continue
        for key, value in pairs:
            env[key] = value
            # Every .env value is private; short ones (ports, flags) would mask too much.
            if (_SECRET_KEY.search(key) and len(value) >= 4) or len(value) >= 6:
                secrets.append(value)
    for key, value in systemd.parse_environment(props.get("Environment", "")):
        env[key] = value
        if _SECRET_KEY.search(key) and len(value) >= 4:
            secrets.append(value)
    return env, secrets


def import_plan(props: Dict[str, str], argv: List[str]) -> Optional[ImportPlan]:
    """Where, how and as whom the app target would be imported (None: no target known)."""
    target = execspec.app_target(argv)
    python = interpreter(argv)
    if target is None or python is None:
        return None
    workdir = systemd.clean_path(props.get("WorkingDirectory", "")) or "/"
    if workdir == "~":
        workdir = "/"
    cwd = os.path.join(workdir, target.chdir) if target.chdir else workdir
    paths = [os.path.join(cwd, target.app_dir) if target.app_dir else cwd]
    paths += [os.path.join(cwd, p) for p in target.pythonpath]
    user = props.get("User") or None
    group = props.get("Group") or None
    env, secrets = unit_environment(props, user)
    env_keys = sorted(env)
    # Read-only: the probe writes no __pycache__ into the app's directories.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    ran_as = user or "root"
    note = None
    if os.geteuid() != 0 and user and user != pwd.getpwuid(os.geteuid()).pw_name:
        # Only root may switch users; say that the probe ran as someone else.
        note = f"ran as {pwd.getpwuid(os.geteuid()).pw_name}, not {user}: not root"
        ran_as, user, group = pwd.getpwuid(os.geteuid()).pw_name, None, None
    return ImportPlan(python, cwd, paths, target, env, env_keys, secrets, user, group, ran_as,
                      note)


def import_payload(plan: ImportPlan, skip: bool = False) -> List[Any]:
    """The first four entries of the probe script's JSON argument (no module: skip)."""
    return [plan.paths, "" if skip else plan.target.module, plan.target.attr, RESULT_MARK]


# A service whose main process has run this long, on code not changed since it started,
# imports its app: the import probe would only repeat it (FastAPI and pydantic alone cost
# ~0.3 s of CPU). It is for failures: a crash loop, a stopped service, a deploy not yet
# restarted.
STABLE_SECONDS = 10.0
MAX_CODE_FILES = 5000  # directory entries walked, at most
_NOT_CODE = {"venv", ".venv", "env", "site-packages", "node_modules", ".git", "__pycache__",
             ".tox", ".mypy_cache", ".pytest_cache"}
_CGROUP_DIRS = ("/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd")


def running_unchanged(unit: str, plan: ImportPlan) -> Optional[str]:
    """Why the import probe need not run (a note), or None: it must.

    It need not when the unit's processes (its cgroup) have all run for STABLE_SECONDS
    and no .py file where the app is imported from changed since the oldest started.
    """
    if "/" in unit or not unit.endswith(".service"):
        return None
    pids: List[int] = []
    for root in _CGROUP_DIRS:
        try:
            with open(f"{root}/system.slice/{unit}/cgroup.procs") as fh:
                pids = [int(x) for x in fh.read().split()]
        except (OSError, ValueError):
            continue
        if pids:
            break
    started = [t for t in procfs.start_times(pids) if t is not None]
    if not started or len(started) < len(pids):
        return None
    oldest, newest = min(started), max(started)
    if time.time() - newest < STABLE_SECONDS:
        return None
    changed = _code_changed_since(plan.paths + [plan.cwd], oldest)
    if changed is not False:
        return None
    when = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(oldest))
    return (f"{unit} has run since {when} (pid {min(pids)}) and no .py file under "
            f"{', '.join(dict.fromkeys(plan.paths))} changed since: its app imports")


def _code_changed_since(roots: List[str], since: float) -> Optional[bool]:
    """Is a .py file under roots newer than `since`? None: cannot tell cheaply (too many
    entries, or a root like / that is the whole system rather than an app's code)."""
    seen = 0
    for root in dict.fromkeys(roots):
        if os.path.realpath(root) in ("/", "/usr", "/opt", "/srv", "/home", "/var", "/tmp"):
            return None
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in _NOT_CODE and not os.path.exists(
                os.path.join(dirpath, d, "pyvenv.cfg"))]
            seen += len(dirnames) + len(filenames)
            if seen > MAX_CODE_FILES:
                return None
            for name in filenames:
                if not name.endswith(".py"):
                    continue
                try:
                    if os.stat(os.path.join(dirpath, name)).st_mtime > since:
                        return True
                except OSError:
                    continue
    return False


def finish_import(item: Item, plan: ImportPlan, payload: str,
                  skipped: Optional[str] = None) -> Item:
    """Read the probe's result out of its output and scrub what must not be kept."""
    result: Optional[Dict[str, Any]] = None
    out = item["stdout"] or ""
    if RESULT_MARK in out:
        before, _, tail = out.rpartition(RESULT_MARK)
        item["stdout"] = before.rstrip("\n")
        try:
            result = json.loads(tail.strip().splitlines()[0])
        except (ValueError, IndexError):
            result = None
    for key in ("stdout", "stderr"):
        if item[key]:
            # pydantic echoes the settings it got (`input_value={...}`), .env values included.
            item[key] = _INPUT_VALUE.sub(r"\1***", item[key])
            for secret in plan.secrets:
                item[key] = item[key].replace(secret, "***")
    if result is not None:
        for key in ("exc_message",):
            for secret in plan.secrets:
                if isinstance(result.get(key), str):
                    result[key] = result[key].replace(secret, "***")
    item["argv"] = [plan.python, "-c", PROBE_LABEL, payload]
    if result is not None and result.get("stage") == "skipped" and item["error"] is None:
        item.update(error=f"skipped: {skipped or 'not needed'}", error_kind="skipped",
                    argv=[plan.python, "-c", PROBE_LABEL])
    item["data"] = {
        "interpreter": plan.python, "cwd": plan.cwd, "sys_path": plan.paths,
        "module": plan.target.module, "attr": plan.target.attr, "server": plan.target.server,
        "user": plan.ran_as, "note": plan.note, "env_keys": plan.env_keys, "result": result,
    }
    return item


def version_of(item: Item, source: str, python: str) -> Item:
    """The interpreter's version as the import probe reported it, else `--version`'s."""
    version = ((item.get("data") or {}).get("result") or {}).get("python")
    if not isinstance(version, str) or not version:
        return python_version(source, python)
    return new_item(source, "command", argv=[python, "-c", PROBE_LABEL], rc=0,
                    stdout=f"Python {version}\n", stderr="", data={"read_from": item["source"]})


def python_version(source: str, python: str) -> Item:
    """Run `<python> --version`."""
    return run(source, [python, "--version"], timeout=5.0)


def workdir_listing(source: str, path: str, limit: int = 300) -> Item:
    """List a directory's entries with type, mode and owner (names only, no contents)."""
    item = new_item(source, "listing", path=path)
    entries = []
    try:
        with os.scandir(path) as it:
            for n, entry in enumerate(it):
                if n >= limit:
                    item["truncated"] = True
                    break
                mode: Optional[int] = None
                uid: Optional[int] = None
                gid: Optional[int] = None
                try:
                    st = entry.stat(follow_symlinks=False)
                    mode, uid, gid = st.st_mode, st.st_uid, st.st_gid
                except OSError:
                    pass
                entries.append({"name": entry.name, "dir": entry.is_dir(), "mode": mode,
                                "uid": uid, "gid": gid})
        st = os.stat(path)
    except OSError as exc:
        kind = "permission" if isinstance(exc, PermissionError) else "missing"
        item.update(error=f"cannot list {path}: {exc.strerror}", error_kind=kind)
        return item
    item["data"] = {"entries": sorted(entries, key=lambda e: e["name"]),
                    "mode": st.st_mode, "uid": st.st_uid, "gid": st.st_gid}
    return item
