"""pm2 (Node's process manager): its daemons, the apps each one runs and the logs it keeps.

Standard library only and read-only. A daemon is found in the process table by the title
pm2 gives it (lib/Daemon.js: `PM2 v<version>: God Daemon (<PM2_HOME>)`). Its live list is
`pm2 jlist`, run as the daemon's own user with its PM2_HOME and a timeout (only while that
daemon runs: pm2's client starts a daemon when it finds none); `$PM2_HOME/dump.pm2` (what
`pm2 save` wrote) and the pid files are read instead when pm2 cannot be run. pm2 hands its
whole environment to every app and `jlist` prints it: only the KEYS are recorded, the values
go to the app probe alone. gather.py probes each web app like a unit, named `pm2:<name>`.
"""

import json
import os
import pwd
import re
import shlex
import shutil
from typing import Any, Dict, List, Optional, Tuple

from ..formats import execspec, sources, systemd
from .runner import Item, new_item, read_file, run, which

# The title is cut to the length of the daemon's original command line (node writes it over
# argv): a long PM2_HOME loses its end, then it is read from the daemon's environment.
TITLE_RE = re.compile(r"^PM2 v(\S+): God Daemon(?: \((.*))?")
LIST_TIMEOUT = 10.0
LOG_BYTES = 128 * 1024
LOG_LINES = 400
MAX_DUMP_BYTES = 4 << 20
# Where npm puts global commands, when PATH (sudo's, cron's) lacks them.
PM2_DIRS = ("/usr/local/bin", "/usr/bin")
# The fields of an app (pm2_env) the parsers read; everything else (the environment's
# values above all) is dropped before it is recorded.
_FIELDS = ("name", "pm_id", "status", "restart_time", "unstable_restarts", "pm_exec_path",
           "args", "exec_interpreter", "node_args", "interpreter_args", "pm_cwd",
           "pm_out_log_path", "pm_err_log_path", "pm_pid_path", "exit_code", "pm_uptime",
           "created_at", "autorestart", "max_restarts", "exec_mode", "uid", "gid", "username",
           "instances", "namespace")
# What pm2 adds to an app's environment itself (not the app's settings).
_PM2_ENV = re.compile(r"^(pm_|PM2_|axm_|km_|vizion|unique_id$|status$|name$|NODE_APP_INSTANCE$|"
                      r"_$|exit_code$|restart_time$|unstable_restarts$|created_at$)")


def daemons(processes: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Each pm2 daemon running: pid, PM2_HOME, version, owner (uid and name), node binary."""
    out = []
    for proc in processes:
        title = " ".join(str(a) for a in proc.get("cmdline") or []).strip()
        m = TITLE_RE.match(title)
        if m is None:
            continue
        uid = proc.get("uid")
        try:
            account = pwd.getpwuid(int(uid)) if uid is not None else None
        except KeyError:
            account = None
        home, home_from = _home(int(proc["pid"]), m.group(2), account)
        out.append({"pid": proc["pid"], "home": home, "home_from": home_from,
                    "version": m.group(1), "uid": uid,
                    "user": account.pw_name if account else None, "exe": proc.get("exe"),
                    "cgroup": proc.get("cgroup"), "title": title})
    return out


def _home(pid: int, in_title: Optional[str], account: Optional[pwd.struct_passwd]
          ) -> Tuple[str, str]:
    """The daemon's PM2_HOME and where it was read: its title, else its environment's
    PM2_HOME (that one variable: the others may be secrets), else pm2's default."""
    if in_title and in_title.endswith(")"):
        return in_title[:-1], "title"
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            environ = fh.read(1 << 20).split(b"\0")
    except OSError:
        environ = []
    for var in environ:
        if var.startswith(b"PM2_HOME="):
            return var[9:].decode("utf-8", "replace"), "environ"
    return os.path.join(account.pw_dir if account else "/root", ".pm2"), "default"


def daemons_item(source: str, found: List[Dict[str, Any]]) -> Item:
    """The daemons found, as evidence (the first link from a process to pm2)."""
    return new_item(source, "listing", path="/proc", data={"daemons": found})


def pm2_command(daemon: Dict[str, Any]) -> Optional[str]:
    """pm2's CLI: on PATH, or beside the node binary the daemon runs (nvm, Baota's panel)."""
    exe = daemon.get("exe") or ""
    beside = os.path.join(os.path.dirname(exe), "pm2") if exe.startswith("/") else ""
    if beside and os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    return which("pm2", PM2_DIRS)


# The daemon's RPC socket under PM2_HOME (pm2's paths.js: DAEMON_RPC_PORT).
RPC_SOCKET = "rpc.sock"


def _client_env(daemon: Dict[str, Any]) -> Dict[str, str]:
    """The environment pm2's client needs: the daemon's PM2_HOME, its owner's HOME, node."""
    exe = daemon.get("exe") or ""
    path = os.pathsep.join(p for p in (os.path.dirname(exe) if exe.startswith("/") else "",
                                       "/usr/local/bin", "/usr/bin", "/bin") if p)
    env = {"PM2_HOME": daemon["home"], "PATH": path, "LANG": os.environ.get("LANG", "C.UTF-8")}
    try:
        env["HOME"] = pwd.getpwuid(int(daemon["uid"])).pw_dir
    except (KeyError, TypeError, ValueError):
        env["HOME"] = os.path.dirname(daemon["home"].rstrip("/")) or "/"
    return env


def app_list(daemon: Dict[str, Any]) -> Tuple[Item, List[Tuple[str, Dict[str, str]]]]:
    """`pm2 jlist` of one daemon (else dump.pm2 and the pid files): the item (environment
    KEYS only) and each web app's unit-like properties for the probe."""
    pm2 = pm2_command(daemon)
    if pm2 is None:
        item = new_item(sources.pm2_list(daemon["home"]), "command", argv=["pm2", "jlist"],
                        error="pm2 is not on PATH nor beside the daemon's node "
                              f"({daemon.get('exe')}): its live list cannot be read",
                        error_kind="missing")
        return _from_dump(item, daemon)
    sock = os.path.join(daemon["home"], RPC_SOCKET)
    if not os.path.exists(sock):
        # pm2's client that finds no daemon socket starts a daemon of its own: asking would
        # change the host (and, with PM2_HOME gone, leave one more daemon behind each time).
        item = new_item(sources.pm2_list(daemon["home"]), "command", argv=[pm2, "jlist"],
                        error=f"the daemon's socket {sock} is gone: its live list cannot be "
                              "read without starting another pm2 daemon", error_kind="missing")
        return _from_dump(item, daemon)
    # As the daemon's owner (its uid and primary group), so that nothing pm2's client
    # writes under PM2_HOME belongs to root.
    as_user = daemon.get("uid") if os.geteuid() == 0 and daemon.get("uid") not in (
        None, os.geteuid()) else None
    try:
        as_group = pwd.getpwuid(int(as_user)).pw_gid if as_user is not None else None
    except KeyError:
        as_group = None
    item = run(sources.pm2_list(daemon["home"]), [pm2, "jlist"], timeout=LIST_TIMEOUT,
               env=_client_env(daemon), user=as_user, group=as_group)
    raw = _json_list(item.get("stdout") or "")
    item["stdout"] = None  # every app's environment, values included: never kept
    if item["error"] is None and raw is None:
        said = (item.get("stderr") or "").strip().splitlines()
        item.update(error=f"pm2 jlist printed no process list (rc {item['rc']})"
                    + (f": {said[-1]}" if said else ""), error_kind="failed")
    if raw is None:
        return _from_dump(item, daemon)
    return _recorded(item, daemon, raw, "jlist")


def _from_dump(failed: Item, daemon: Dict[str, Any]
               ) -> Tuple[Item, List[Tuple[str, Dict[str, str]]]]:
    """What `pm2 save` left in dump.pm2, each app's state from its pid file; the failed
    jlist item is kept beside it, saying why."""
    path = os.path.join(daemon["home"], "dump.pm2")
    item = read_file(sources.pm2_dump(daemon["home"]), path, max_bytes=MAX_DUMP_BYTES)
    raw = _json_list(item.get("stdout") or "") if item["error"] is None else None
    item["stdout"] = None
    if raw is None:
        if item["error"] is None:
            item.update(error=f"{path} is not a pm2 process list", error_kind="failed")
        return failed, []
    for app in raw:
        app["status"] = _pid_state(app)
    recorded, props = _recorded(item, daemon, raw, "dump")
    recorded["data"]["list_error"] = failed["error"]
    return recorded, props


def _pid_state(app: Dict[str, Any]) -> Optional[str]:
    """`online` when its pid file names a live process; None (not known) otherwise."""
    try:
        with open(str(app.get("pm_pid_path") or ""), encoding="ascii") as fh:
            pid = int(fh.read().strip())
    except (OSError, ValueError):
        return None
    return "online" if os.path.exists(f"/proc/{pid}") else None


def _json_list(text: str) -> Optional[List[Dict[str, Any]]]:
    """The JSON array pm2 printed (after any warning lines it wrote first)."""
    start = text.find("[")
    try:
        got = json.loads(text[start:]) if start >= 0 else None
    except ValueError:
        return None
    return [a for a in got if isinstance(a, dict)] if isinstance(got, list) else None


def _recorded(item: Item, daemon: Dict[str, Any], raw: List[Dict[str, Any]],
              origin: str) -> Tuple[Item, List[Tuple[str, Dict[str, str]]]]:
    apps, props_out = [], []
    for entry in raw:
        nested = entry.get("pm2_env")
        env_all: Dict[str, Any] = nested if isinstance(nested, dict) else entry
        app: Dict[str, Any] = {k: env_all.get(k) for k in _FIELDS}
        app["pid"] = entry.get("pid") if "pm2_env" in entry else None
        if not isinstance(app["args"], list):
            app["args"] = _split(str(app["args"])) if app["args"] else []
        env = _app_env(env_all)
        app["environment_keys"] = sorted(env)
        app["user"] = _user(app.get("uid")) or daemon.get("user")
        argv = app["argv"] = command(app, env.get("PATH"))
        if _node_runs_python(app):
            # pm2 runs a script it does not know by its extension with Node (`pm2 start
            # uvicorn -- main:app`): it dies on its first line. What it was meant to run is
            # the script itself, which is what the app probe tries.
            argv = app["python_argv"] = command({**app, "exec_interpreter": "none"},
                                                env.get("PATH"))
        apps.append(app)
        if execspec.server_of(argv) in (None, "python"):
            continue
        props_out.append((str(app["name"]), {
            "ExecStart": systemd.join_argv(argv), "WorkingDirectory": app.get("pm_cwd") or "",
            "User": app["user"] or "",
            "Environment": " ".join(shlex.quote(f"{k}={v}") for k, v in sorted(env.items()))}))
    item["data"] = {"daemon": daemon, "origin": origin, "apps": apps}
    return item, props_out


def _node_runs_python(app: Dict[str, Any]) -> bool:
    """pm2 runs the app's script with Node (or Bun), and the script is a Python program."""
    interp = os.path.basename(str(app.get("exec_interpreter") or ""))
    script = str(app.get("pm_exec_path") or "")
    if interp not in ("node", "nodejs", "bun") or not script:
        return False
    if script.endswith(".py"):
        return True
    try:
        with open(script, "rb") as fh:
            first = fh.readline(256)
    except OSError:
        return False
    return first.startswith(b"#!") and b"python" in first


def _app_env(pm2_env: Dict[str, Any]) -> Dict[str, str]:
    """The environment pm2 gives the app, less what pm2 adds about itself."""
    got = pm2_env.get("env")
    env: Dict[str, Any] = got if isinstance(got, dict) else {}
    return {str(k): str(v) for k, v in env.items()
            if not _PM2_ENV.match(str(k)) and isinstance(v, (str, int, float))}


def _user(uid: object) -> Optional[str]:
    """The account an app runs as when started with `--uid`."""
    if uid in (None, ""):
        return None
    try:
        return pwd.getpwuid(int(str(uid))).pw_name
    except (KeyError, ValueError):
        return str(uid)


def _split(text: str) -> List[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def command(app: Dict[str, Any], path: Optional[str] = None) -> List[str]:
    """The argv pm2 runs for an app (fork mode): the interpreter, its options, the script and
    its arguments; `none` runs the script itself. A shell's `-c` string and a console script
    run by Python are read as the server command they stand for."""
    script = str(app.get("pm_exec_path") or "")
    interp = str(app.get("exec_interpreter") or "none")
    iargs = app.get("node_args") or app.get("interpreter_args") or []
    iargs = iargs if isinstance(iargs, list) else _split(str(iargs))
    args = [str(a) for a in app.get("args") or []]
    argv = [script, *args] if interp == "none" else [interp, *map(str, iargs), script, *args]
    argv = execspec.process_argv(argv)
    if argv and "/" not in argv[0]:
        # pm2 finds a bare name on the app's PATH, from its working directory.
        found = shutil.which(argv[0], path=path or os.environ.get("PATH"))
        argv = [found or argv[0], *argv[1:]]
    return argv


def log_paths(item: Item) -> List[Tuple[str, str]]:
    """(source, path) of the daemon's pm2.log and each web app's out and error logs."""
    data = item.get("data") or {}
    home = (data.get("daemon") or {}).get("home")
    out = [(sources.pm2_log(home), os.path.join(home, "pm2.log"))] if home else []
    for app in data.get("apps", []):
        if execspec.server_of(app.get("python_argv") or app.get("argv") or []) in (
                None, "python"):
            continue
        seen = set()
        for stream, key in (("stderr", "pm_err_log_path"), ("stdout", "pm_out_log_path")):
            path = app.get(key)
            if isinstance(path, str) and path.startswith("/") and path != "/dev/null" \
                    and path not in seen:
                seen.add(path)
                out.append((sources.pm2_output(stream, str(app.get("name"))), path))
    return out
