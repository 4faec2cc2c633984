"""The database behind the app: reach it and log in the way the app would.

Settings come from the unit's Environment=, EnvironmentFile= and the `.env` in its
WorkingDirectory (read in memory only). The evidence keeps host, port, database name
and user: never the password or the DSN. The login runs the app's own interpreter
(its psycopg2, psycopg or asyncpg), in the unit's directory, with its environment and
as its user, under a timeout; the DSN reaches it through the environment, not argv.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from . import execspec, probes, pyapp
from .runner import Item, new_item, run

LOGIN_TIMEOUT = 10.0
CONNECT_TIMEOUT = 3
DSN_VAR = "GATEWAYDOCTOR_DB_DSN"
RESULT_MARK = "@@gatewaydoctor-db-result@@"
SETTING_RE = re.compile(
    r"^(?:[A-Z0-9_]*_)?(?:DATABASE|POSTGRES|POSTGRESQL|PG|DB)_?(?:URL|URI|DSN)$", re.I)
SCHEMES = ("postgres", "postgresql")
MAX_SETTINGS = 4

# Runs inside the app's interpreter, which may be any Python 3: keep it plain.
LOGIN_SCRIPT = r"""
import json, os, sys
dsn = os.environ.pop("GATEWAYDOCTOR_DB_DSN", "")
order, timeout, mark = json.loads(sys.argv[1])
res = {"driver": None, "ok": False, "error": None, "error_type": None, "tried": []}
def fail(exc):
    res["error"] = str(exc).strip()
    res["error_type"] = type(exc).__module__ + "." + type(exc).__name__
for name in order:
    try:
        mod = __import__(name)
    except Exception:
        res["tried"].append(name)
        continue
    res["driver"] = name
    try:
        if name == "psycopg2":
            mod.connect(dsn, connect_timeout=timeout).close()
        elif name == "psycopg":
            mod.connect(dsn, connect_timeout=timeout).close()
        else:
            import asyncio
            async def go():
                conn = await asyncio.wait_for(mod.connect(dsn), timeout)
                await conn.close()
            asyncio.run(go())
        res["ok"] = True
    except BaseException as exc:
        fail(exc)
    break
sys.stdout.write("\n" + mark + json.dumps(res) + "\n")
"""


def _settings_from(pairs: list[tuple[str, str]], origin: str,
                   out: dict[str, tuple[str, str]]) -> None:
    for key, value in pairs:
        if SETTING_RE.match(key) and urlsplit(value).scheme.split("+")[0] in SCHEMES:
            out[key] = (value, origin)


def database_settings(props: dict[str, str], user: str | None) -> list[tuple[str, str, str]]:
    """(setting, DSN, where it came from) for every PostgreSQL URL the app would see."""
    found: dict[str, tuple[str, str]] = {}
    workdir = execspec.clean_path(props.get("WorkingDirectory", ""))
    if workdir.startswith("/"):
        # Read by the app itself (pydantic-settings, python-dotenv); the unit's own
        # environment wins over it, so it goes first.
        path = os.path.join(workdir, ".env")
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                _settings_from(execspec.parse_env_file(fh.read(256 * 1024)), path, found)
        except OSError:
            pass
    for path, _optional in execspec.environment_files(props.get("EnvironmentFiles", "")):
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                _settings_from(execspec.parse_env_file(fh.read(256 * 1024)), path, found)
        except OSError:
            continue
    _settings_from(execspec.parse_environment(props.get("Environment", "")), "Environment=",
                   found)
    return [(k, v, origin) for k, (v, origin) in list(found.items())[:MAX_SETTINGS]]


def describe(dsn: str) -> dict[str, Any]:
    """Host, port, database and user of a DSN: what evidence may keep."""
    parts = urlsplit(dsn)
    try:
        port = parts.port
    except ValueError:
        port = None
    return {
        "scheme": parts.scheme,
        "host": unquote(parts.hostname) if parts.hostname else None,
        "port": port or 5432,
        "dbname": unquote(parts.path.lstrip("/")) or None,
        "user": unquote(parts.username) if parts.username else None,
    }


def _driver_order(scheme: str) -> list[str]:
    order = ["psycopg2", "psycopg", "asyncpg"]
    named = scheme.partition("+")[2]
    for name in order:
        if named.startswith(name):
            order.remove(name)
            order.insert(0, name)
            break
    return order


def _redact(text: str | None, secrets: list[str]) -> str | None:
    if not text:
        return text
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    # A libpq DSN echoed back (`password=...`) or a URL with credentials.
    text = re.sub(r"(password\s*=\s*)\S+", r"\1***", text, flags=re.I)
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)


def check(source: str, unit: str, setting: str, dsn: str, origin: str, props: dict[str, str],
          python: str | None, no_exec: bool) -> Item:
    """TCP-connect to the database, then (unless no_exec) log in with the app's driver."""
    info = describe(dsn)
    parts = urlsplit(dsn)
    secrets = [s for s in (parts.password, unquote(parts.password or ""), dsn) if s]
    data: dict[str, Any] = {"unit": unit, "setting": setting, "origin": origin, **info,
                            "connect": None, "login": None}
    item = new_item(source, "probe", data=data)
    host = info["host"] or "localhost"
    if host.startswith("/"):
        endpoint = f"unix:{host.rstrip('/')}/.s.PGSQL.{info['port']}"
    else:
        endpoint = execspec.join_hostport(host, info["port"])
    connect = probes.tcp_probe(f"{source}:connect", endpoint, timeout=float(CONNECT_TIMEOUT))
    data["connect"] = {"endpoint": endpoint, **(connect["data"] or {})}
    if no_exec:
        data["login"] = {"ok": None, "note": "skipped: --no-exec"}
        return item
    if python is None:
        data["login"] = {"ok": None, "note": "cannot tell which Python the unit runs"}
        return item
    workdir = execspec.clean_path(props.get("WorkingDirectory", "")) or "/"
    user = props.get("User") or None
    group = props.get("Group") or None
    env, env_secrets = pyapp.unit_environment(props, user)
    secrets += env_secrets
    scheme = info["scheme"].split("+")[0]
    env[DSN_VAR] = scheme + dsn[len(info["scheme"]):]
    if os.geteuid() != 0:
        user = group = None
    payload = json.dumps([_driver_order(info["scheme"]), CONNECT_TIMEOUT, RESULT_MARK])
    ran = run(f"{source}:login", [python, "-c", LOGIN_SCRIPT, payload], timeout=LOGIN_TIMEOUT,
              env=env, cwd=workdir if os.path.isdir(workdir) else "/", user=user, group=group)
    out = ran["stdout"] or ""
    result: dict[str, Any] = {"ok": None, "note": None}
    if RESULT_MARK in out:
        try:
            result = json.loads(out.rpartition(RESULT_MARK)[2].strip().splitlines()[0])
        except (ValueError, IndexError):
            result = {"ok": None, "note": "unreadable result"}
        if result.get("driver") is None:
            result["ok"] = None
            result["note"] = "no PostgreSQL driver importable (tried psycopg2, psycopg, asyncpg)"
    else:
        result["note"] = ran["error"] or _redact((ran["stderr"] or "")[-500:], secrets) or \
            f"exit status {ran['rc']}"
    result["error"] = _redact(result.get("error"), secrets)
    result.update(interpreter=python, cwd=workdir, user=props.get("User") or "root",
                  duration=ran["duration"])
    data["login"] = result
    item["argv"] = [python, "-c", "<gatewaydoctor database login>", payload]
    item["duration"] = round(float(connect["duration"]) + float(ran["duration"]), 4)
    return item


def plan(unit: str, props: dict[str, str], argv: list[str],
         no_exec: bool) -> list[tuple[str, dict[str, Any]]]:
    """The checks to run for one Python web unit: (source, kwargs for check())."""
    user = props.get("User") or None
    python = pyapp.interpreter(argv)
    out = []
    for setting, dsn, origin in database_settings(props, user):
        out.append((f"db.check:{unit}:{setting}",
                    {"unit": unit, "setting": setting, "dsn": dsn, "origin": origin,
                     "props": props, "python": python, "no_exec": no_exec}))
    return out
