"""The app probe: one run of the service's own interpreter for its database logins and the
import of its app, with the unit's directory, environment and user.

One interpreter, not one per check: starting the app's Python and importing its database
driver (psycopg2 loads libpq and its TLS/Kerberos libraries) costs ~50 ms of CPU each time,
the largest part of a bundle's work. The logins go first, so a module that exits or hangs
on import cannot take their results with it; each DSN reaches the script through its own
environment variable, removed before the app is imported.
"""

from __future__ import annotations

import json
from typing import Any

from . import dbprobe, pyapp
from .runner import Item, collect, spawn

DB_MARK = "@@gatewaydoctor-db-results@@"
SCRIPT = ("import importlib, json, os, sys, traceback\n" + dbprobe.LOGIN_FUNC + r"""
logins, db_mark = json.loads(sys.argv[1])[4:6]
if logins:
    results = [gd_login(os.environ.pop(var, ""), order, timeout)
               for var, order, timeout in logins]
    sys.stdout.write("\n" + db_mark + json.dumps(results) + "\n")
    sys.stdout.flush()
""" + pyapp.IMPORT_BODY)


def run(import_source: str, version_source: str, props: dict[str, str], argv: list[str],
        checks: list[tuple[str, dict[str, Any]]]) -> list[Item] | None:
    """Items: the import probe, the interpreter's version and each database check.

    `checks` are dbprobe.plan()'s (source, kwargs). None when the unit names no app target
    (then the checks run on their own).
    """
    plan = pyapp.import_plan(props, argv)
    if plan is None:
        return None
    env = dict(plan.env)
    db_items: list[tuple[Item, list[str]]] = []
    logins = []
    for n, (source, kw) in enumerate(checks):
        item, secrets = dbprobe.begin(source, kw["unit"], kw["setting"], kw["dsn"], kw["origin"])
        var = f"{dbprobe.DSN_VAR}_{n}"
        env[var] = dbprobe.login_dsn(item, kw["dsn"])
        logins.append([var, *dbprobe.login_spec(item)])
        db_items.append((item, secrets + plan.secrets))
    payload = json.dumps([*pyapp.import_payload(plan), logins, DB_MARK])
    ran, proc = spawn(import_source, [plan.python, "-c", SCRIPT, payload], env=env,
                      cwd=plan.cwd, user=plan.user, group=plan.group)
    for item, _secrets in db_items:
        dbprobe.connect(item)  # while the interpreter starts
    if proc is not None:
        timeout = pyapp.IMPORT_TIMEOUT + len(logins) * (dbprobe.CONNECT_TIMEOUT + 1)
        collect(ran, proc, timeout=timeout)
    results = _db_results(ran)
    label_payload = json.dumps([*pyapp.import_payload(plan), logins, DB_MARK])
    out = [pyapp.finish_import(ran, plan, payload)]
    out.append(pyapp.version_of(out[0], version_source, plan.python))
    for n, (item, secrets) in enumerate(db_items):
        result = results[n] if results is not None and n < len(results) else None
        out.append(dbprobe.finish(
            item, result, ran, secrets, python=plan.python, cwd=plan.cwd,
            user=props.get("User") or "root",
            argv=[plan.python, "-c", f"{dbprobe.LOGIN_LABEL} (with the import probe)",
                  label_payload]))
    return out


def _db_results(ran: Item) -> list[Any] | None:
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
