"""The app probe: one run of the service's own interpreter for its database logins and the
import of its app, with the unit's directory, environment and user.

One interpreter, not one per check: starting the app's Python and importing its database
driver (psycopg2 loads libpq and its TLS/Kerberos libraries) costs ~50 ms of CPU each time,
the largest part of a bundle's work. The logins go first, so a module that exits or hangs
on import cannot take their results with it; each DSN reaches the script through its own
environment variable, removed before the app is imported.
"""

import json
import subprocess
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

from ..formats import execspec, sources, systemd
from . import dbprobe, pyapp
from .runner import Item, collect, kill, spawn

DB_MARK = "@@gatewaydoctor-db-results@@"
SCRIPT = ("import importlib, json, os, sys, traceback\n" + dbprobe.LOGIN_FUNC + r"""
logins, db_mark = json.loads(sys.argv[1])[4:6]
if logins:
    results = [gd_login(os.environ.pop(var, ""), order, timeout)
               for var, order, timeout in logins]
    sys.stdout.write("\n" + db_mark + json.dumps(results) + "\n")
    sys.stdout.flush()
""" + pyapp.IMPORT_BODY)


class Started(NamedTuple):
    """An app probe on its way: the process (None if it could not start) and its parts."""

    unit: str
    props: Dict[str, str]
    plan: pyapp.ImportPlan
    payload: str
    logins: List[Any]
    db_items: List[Tuple[Item, List[str]]]
    ran: Item
    proc: "Optional[subprocess.Popen[bytes]]"
    began: float
    skipped: Optional[str]  # why the import is not repeated (the service runs, code unchanged)


def start(unit: str, props: Dict[str, str], argv: List[str],
          checks: List[Tuple[str, Dict[str, Any]]], may_skip: bool = True) -> Optional[Started]:
    """Start the app's interpreter (None when the unit names no app target)."""
    plan = pyapp.import_plan(props, argv)
    if plan is None:
        return None
    skipped = pyapp.running_unchanged(unit, plan) if may_skip else None
    env = dict(plan.env)
    db_items: List[Tuple[Item, List[str]]] = []
    logins = []
    for n, (source, kw) in enumerate(checks):
        item, secrets = dbprobe.begin(source, kw["unit"], kw["setting"], kw["dsn"], kw["origin"])
        var = f"{dbprobe.DSN_VAR}_{n}"
        env[var] = dbprobe.login_dsn(item, kw["dsn"])
        logins.append([var, *dbprobe.login_spec(item)])
        db_items.append((item, secrets + plan.secrets))
    payload = json.dumps([*pyapp.import_payload(plan, bool(skipped)), logins, DB_MARK])
    ran, proc, began = spawn(sources.import_probe(unit), [plan.python, "-c", SCRIPT, payload],
                              env=env, cwd=plan.cwd, user=plan.user, group=plan.group)
    return Started(unit, props, plan, payload, logins, db_items, ran, proc, began, skipped)


def finish(started: Started) -> List[Item]:
    """Wait for the probe; items: the import probe, the interpreter's version, each check."""
    plan, ran = started.plan, started.ran
    for item, _secrets in started.db_items:
        dbprobe.connect(item)  # while the interpreter runs
    if started.proc is not None:
        timeout = pyapp.IMPORT_TIMEOUT + len(started.logins) * (dbprobe.CONNECT_TIMEOUT + 1)
        collect(ran, started.proc, started.began, timeout=timeout)
    results = _db_results(ran)
    out = [pyapp.finish_import(ran, plan, started.payload, started.skipped)]
    out.append(pyapp.version_of(out[0], sources.python_version(started.unit), plan.python))
    for n, (item, secrets) in enumerate(started.db_items):
        result = results[n] if results is not None and n < len(results) else None
        out.append(dbprobe.finish(
            item, result, ran, secrets, python=plan.python, cwd=plan.cwd,
            user=started.props.get("User") or "root",
            argv=[plan.python, "-c", f"{dbprobe.LOGIN_LABEL} (with the import probe)",
                  started.payload]))
    return out


def run(unit: str, props: Dict[str, str], argv: List[str],
        checks: List[Tuple[str, Dict[str, Any]]]) -> Optional[List[Item]]:
    """Items: `python.import:<unit>`, `python.version:<unit>` and each database check.

    `checks` are dbprobe.plan()'s (source, kwargs). None when the unit names no app target
    (then the checks run on their own).
    """
    started = start(unit, props, argv, checks, may_skip=props.get("SubState") == "running")
    return None if started is None else finish(started)


def run_checked(unit: str, file_props: Dict[str, str], argv: List[str],
                loaded: Callable[[], Optional[Dict[str, str]]]) -> Optional[List[Item]]:
    """Start the probe from the unit file's settings, before systemd has said what it
    loaded; then ask `loaded()` (the properties `systemctl show` gives) and, if what the
    probe depends on differs (a daemon-reload pending, a transient override), start over
    with systemd's. The result is the same as waiting; only sooner."""
    started = start(unit, file_props, argv, dbprobe.plan(unit, file_props, argv, False))
    props = loaded()
    # Skipping the import was decided from the unit's processes: systemd must agree that
    # it runs (not, say, restarting between two crashes).
    agreed = started is None or not started.skipped or (props or {}).get("SubState") == "running"
    if props is not None and same_settings(file_props, props) and agreed:
        return None if started is None else finish(started)
    if started is not None and started.proc is not None:
        kill(started.proc)
    if props is None:
        return None  # systemd could not be asked: no probe, as without the head start
    argv2 = execspec.server_argv(props.get("ExecStart", ""))
    if argv2 is None:
        return None
    again = start(unit, props, argv2, dbprobe.plan(unit, props, argv2, False),
                  may_skip=agreed)
    return None if again is None else finish(again)


def same_settings(a: Dict[str, str], b: Dict[str, str]) -> bool:
    """Do two property sets run the app the same way (command, directory, user, env)?"""
    def key(p: Dict[str, str]) -> Tuple[Any, ...]:
        return (execspec.server_argv(p.get("ExecStart", "")),
                systemd.clean_path(p.get("WorkingDirectory", "")), p.get("User") or "",
                p.get("Group") or "", sorted(systemd.parse_environment(p.get("Environment", ""))),
                systemd.environment_files(p.get("EnvironmentFiles", "")))
    return key(a) == key(b)


def _db_results(ran: Item) -> Optional[List[Any]]:
    """Take the logins' results out of the probe's stdout (the rest is the import's)."""
    out = ran["stdout"] or ""
    if DB_MARK not in out:
        return None
    before, _, rest = out.partition(DB_MARK)
    line, _, after = rest.partition("\n")
    ran["stdout"] = before.rstrip("\n") + ("\n" + after if after else "")
    try:
        results = json.loads(line)
    except ValueError:
        return None
    return results if isinstance(results, list) else None
