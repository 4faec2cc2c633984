"""The database behind the app: reach it and log in the way the app would.

Settings come from the unit's Environment=, EnvironmentFile= and the `.env` in its
WorkingDirectory (read in memory only). The evidence keeps host, port, database name
and user: never the password or the DSN. The login runs the app's own interpreter
(its psycopg2, psycopg or asyncpg), in the unit's directory, with its environment and
as its user, under a timeout; the DSN reaches it through the environment, not argv.
"""

import json
import os
import re
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import unquote, urlsplit

from ..formats import sources, systemd
from ..formats.endpoint import join_hostport
from . import probes, pyapp
from .runner import Item, new_item, run

LOGIN_TIMEOUT = 10.0
CONNECT_TIMEOUT = 3
DSN_VAR = "GATEWAYDOCTOR_DB_DSN"
RESULT_MARK = "@@gatewaydoctor-db-result@@"
SETTING_RE = re.compile(
    r"^(?:[A-Z0-9_]*_)?(?:DATABASE|POSTGRES|POSTGRESQL|PG|DB)_?(?:URL|URI|DSN)$", re.I)
SCHEMES = ("postgres", "postgresql")
MAX_SETTINGS = 4

# Runs inside the app's interpreter, which may be any Python 3: keep it plain. Shared by
# the login alone (LOGIN_SCRIPT) and the app probe, which logs in before importing the app.
LOGIN_FUNC = r"""
def gd_login(dsn, order, timeout):
    res = {"driver": None, "ok": False, "error": None, "error_type": None, "tried": []}
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
                if hasattr(asyncio, "run"):
                    asyncio.run(go())
                else:  # Python 3.6 (asyncpg supported it until 0.26)
                    loop = asyncio.new_event_loop()
                    try:
                        loop.run_until_complete(go())
                    finally:
                        loop.close()
            res["ok"] = True
        except BaseException as exc:
            res["error"] = str(exc).strip()
            res["error_type"] = type(exc).__module__ + "." + type(exc).__name__
        break
    return res
"""
LOGIN_SCRIPT = "import json, os, sys\n" + LOGIN_FUNC + r"""
dsn = os.environ.pop("GATEWAYDOCTOR_DB_DSN", "")
order, timeout, mark = json.loads(sys.argv[1])
sys.stdout.write("\n" + mark + json.dumps(gd_login(dsn, order, timeout)) + "\n")
"""
LOGIN_LABEL = "<gatewaydoctor database login>"


def _settings_from(pairs: List[Tuple[str, str]], origin: str,
                   out: Dict[str, Tuple[str, str]]) -> None:
    for key, value in pairs:
        if SETTING_RE.match(key) and urlsplit(value).scheme.split("+")[0] in SCHEMES:
            out[key] = (value, origin)


def database_settings(props: Dict[str, str], user: Optional[str]) -> List[Tuple[str, str, str]]:
    """(setting, DSN, where it came from) for every PostgreSQL URL the app would see."""
    found: Dict[str, Tuple[str, str]] = {}
    workdir = systemd.clean_path(props.get("WorkingDirectory", ""))
    if workdir.startswith("/"):
        # Read by the app itself (pydantic-settings, python-dotenv); the unit's own
        # environment wins over it, so it goes first.
        path = os.path.join(workdir, ".env")
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                _settings_from(systemd.parse_env_file(fh.read(256 * 1024)), path, found)
        except OSError:
            pass
    for path, _optional in systemd.environment_files(props.get("EnvironmentFiles", "")):
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                _settings_from(systemd.parse_env_file(fh.read(256 * 1024)), path, found)
        except OSError:
            continue
    _settings_from(systemd.parse_environment(props.get("Environment", "")), "Environment=",
                   found)
    return [(k, v, origin) for k, (v, origin) in list(found.items())[:MAX_SETTINGS]]


def describe(dsn: str) -> Dict[str, Any]:
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


def _driver_order(scheme: str) -> List[str]:
    order = ["psycopg2", "psycopg", "asyncpg"]
    named = scheme.partition("+")[2]
    for name in order:
        if named.startswith(name):
            order.remove(name)
            order.insert(0, name)
            break
    return order


def _redact(text: Optional[str], secrets: List[str]) -> Optional[str]:
    if not text:
        return text
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    # A libpq DSN echoed back (`password=...`) or a URL with credentials.
    text = re.sub(r"(password\s*=\s*)\S+", r"\1***", text, flags=re.I)
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)


def begin(source: str, unit: str, setting: str, dsn: str,
          origin: str) -> Tuple[Item, List[str]]:
    """The check's item (what may be kept of the DSN) and the secrets to scrub from output."""
    info = describe(dsn)
    parts = urlsplit(dsn)
    secrets = [s for s in (parts.password, unquote(parts.password or ""), dsn) if s]
    data: Dict[str, Any] = {"unit": unit, "setting": setting, "origin": origin, **info,
                            "connect": None, "login": None}
    return new_item(source, "probe", data=data), secrets


def connect(item: Item) -> None:
    """TCP-connect (or unix-socket connect) to the database the item names."""
    data = item["data"]
    host = data["host"] or "localhost"
    if host.startswith("/"):
        endpoint = f"unix:{host.rstrip('/')}/.s.PGSQL.{data['port']}"
    else:
        endpoint = join_hostport(host, data["port"])
    probe = probes.tcp_probe(f"{item['source']}:connect", endpoint,
                             timeout=float(CONNECT_TIMEOUT))
    data["connect"] = {"endpoint": endpoint, **(probe["data"] or {})}
    item["duration"] = round(float(item["duration"]) + float(probe["duration"]), 4)


def login_dsn(item: Item, dsn: str) -> str:
    """The DSN as the drivers take it (`postgresql+asyncpg://` loses its `+asyncpg`)."""
    scheme = str(item["data"]["scheme"])
    return scheme.split("+")[0] + dsn[len(scheme):]


def login_spec(item: Item) -> List[Any]:
    """[driver order, connect timeout] for gd_login."""
    return [_driver_order(item["data"]["scheme"]), CONNECT_TIMEOUT]


def finish(item: Item, result: Optional[Dict[str, Any]], ran: Item, secrets: List[str], *,
           python: str, cwd: str, user: str, argv: List[str]) -> Item:
    """Record the login's result (or why there is none), scrubbed of the password."""
    if result is None:
        result = {"ok": None, "note": ran["error"] or _redact(
            (ran["stderr"] or "")[-500:], secrets) or f"exit status {ran['rc']}"}
    elif not isinstance(result, dict):
        result = {"ok": None, "note": "unreadable result"}
    elif result.get("driver") is None:
        result["ok"] = None
        result["note"] = "no PostgreSQL driver importable (tried psycopg2, psycopg, asyncpg)"
    result["error"] = _redact(result.get("error"), secrets)
    result.update(interpreter=python, cwd=cwd, user=user, duration=ran["duration"])
    item["data"]["login"] = result
    item["argv"] = argv
    item["duration"] = round(float(item["duration"]) + float(ran["duration"]), 4)
    return item


def check(source: str, unit: str, setting: str, dsn: str, origin: str, props: Dict[str, str],
          python: Optional[str], no_exec: bool) -> Item:
    """TCP-connect to the database, then (unless no_exec) log in with the app's driver."""
    item, secrets = begin(source, unit, setting, dsn, origin)
    connect(item)
    if no_exec:
        item["data"]["login"] = {"ok": None, "note": "skipped: --no-exec"}
        return item
    if python is None:
        item["data"]["login"] = {"ok": None, "note": "cannot tell which Python the unit runs"}
        return item
    workdir = systemd.clean_path(props.get("WorkingDirectory", "")) or "/"
    user = props.get("User") or None
    group = props.get("Group") or None
    env, env_secrets = pyapp.unit_environment(props, user)
    secrets += env_secrets
    env[DSN_VAR] = login_dsn(item, dsn)
    if os.geteuid() != 0:
        user = group = None
    payload = json.dumps([*login_spec(item), RESULT_MARK])
    ran = run(f"{source}:login", [python, "-c", LOGIN_SCRIPT, payload], timeout=LOGIN_TIMEOUT,
              env=env, cwd=workdir if os.path.isdir(workdir) else "/", user=user, group=group)
    out = ran["stdout"] or ""
    result: Any = None
    if RESULT_MARK in out:
        try:
            result = json.loads(out.rpartition(RESULT_MARK)[2].strip().splitlines()[0])
        except (ValueError, IndexError):
            result = "unreadable"
    return finish(item, result, ran, secrets, python=python, cwd=workdir,
                  user=props.get("User") or "root", argv=[python, "-c", LOGIN_LABEL, payload])


def plan(unit: str, props: Dict[str, str], argv: List[str],
         no_exec: bool) -> List[Tuple[str, Dict[str, Any]]]:
    """The checks to run for one Python web unit: (source, kwargs for check())."""
    user = props.get("User") or None
    python = pyapp.interpreter(argv)
    out = []
    for setting, dsn, origin in database_settings(props, user):
        out.append((sources.db_check(unit, setting),
                    {"unit": unit, "setting": setting, "dsn": dsn, "origin": origin,
                     "props": props, "python": python, "no_exec": no_exec}))
    return out
