"""Find the app object in an app folder's sources by reading them with `ast`: never importing
or running them (an import runs the app's code: database connections, settings that raise).

What counts as an app, strongest first:
- a module-level call of a framework's constructor (`FastAPI(...)`, `Flask(...)`, Django's
  `get_wsgi_application()` ...) assigned to a name;
- a name assigned from a factory defined in these sources whose body calls such a
  constructor (`app = create_app()`);
- a module-level `app`/`application` of any other value (`from .views import app as
  application` is the object it names, not a second app).
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path

# constructor (the call's last name) → (framework, interface)
FRAMEWORKS: dict[str, tuple[str, str]] = {
    "FastAPI": ("fastapi", "asgi"), "Starlette": ("starlette", "asgi"),
    "Quart": ("quart", "asgi"), "Litestar": ("litestar", "asgi"),
    "ProtocolTypeRouter": ("channels", "asgi"), "get_asgi_application": ("django", "asgi"),
    "Flask": ("flask", "wsgi"), "Bottle": ("bottle", "wsgi"),
    "get_wsgi_application": ("django", "wsgi"), "make_wsgi_app": ("pyramid", "wsgi"),
}
# top-level packages whose import tells the interface of an app built otherwise
IMPORT_KIND = {"fastapi": "asgi", "starlette": "asgi", "quart": "asgi", "litestar": "asgi",
               "channels": "asgi", "flask": "wsgi", "django": "wsgi", "bottle": "wsgi",
               "pyramid": "wsgi", "falcon": "wsgi"}
APP_NAMES = ("app", "application")
# Folders that hold no app of this project: environments, tests, build output, VCS.
SKIP_DIRS = {"node_modules", "__pycache__", "site-packages", "dist-packages", "tests", "test",
             "migrations", "docs", "build", "dist", "static", "templates"}
MAX_FILES = 3000
MAX_BYTES = 512 * 1024


@dataclass(frozen=True)
class Import:
    """One import statement: `level` > 0 for a relative one."""

    level: int
    module: str  # dotted, "" for `from . import x`
    names: tuple[str, ...]
    line: int


@dataclass
class Source:
    """One parsed module: its imports, its app candidates and its websocket routes."""

    path: str
    imports: list[Import] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    factories: dict[str, str] = field(default_factory=dict)  # function → framework
    # (the decorated object's name, the literal path): see _websockets
    websockets: list[tuple[str | None, str | None]] = field(default_factory=list)
    docs: dict[str, str | None] = field(default_factory=dict)  # FastAPI docs_url ...
    mounted: set[str] = field(default_factory=set)  # names mounted into another app

    @property
    def kind_from_imports(self) -> str | None:
        kinds = {IMPORT_KIND[i.module.split(".")[0]] for i in self.imports
                 if i.level == 0 and i.module.split(".")[0] in IMPORT_KIND}
        return kinds.pop() if len(kinds) == 1 else None


@dataclass
class Candidate:
    """A module-level name that may be the app."""

    file: str
    attr: str
    line: int
    framework: str | None  # fastapi, flask, django ... when the constructor says so
    kind: str | None  # asgi | wsgi
    strength: int  # 3 constructor, 2 factory, 1 any other app/application
    factory: str | None = None  # the called function's name, resolved later
    alias_of: tuple[int, str, str] | None = None  # (level, module, name) re-exported


def _callee(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        while isinstance(func, ast.Call):  # Configurator(...).make_wsgi_app()
            func = func.func
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute):
            return func.attr
    return None


def _is_main_guard(node: ast.stmt) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__")


def _module_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """Module-level statements, looking into `if`/`try` blocks but not `__main__` guards."""
    out: list[ast.stmt] = []
    for node in body:
        if isinstance(node, ast.If) and not _is_main_guard(node):
            out += _module_statements(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            out += _module_statements(node.body + node.orelse + node.finalbody)
        elif not isinstance(node, ast.If):
            out.append(node)
    return out


def _assigned(node: ast.stmt) -> tuple[list[str], ast.expr | None]:
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)], node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id], node.value
    return [], None


def _candidate(path: str, name: str, value: ast.expr, line: int) -> Candidate | None:
    callee = _callee(value)
    if callee in FRAMEWORKS:
        framework, kind = FRAMEWORKS[callee]
        return Candidate(path, name, line, framework, kind, 3)
    if name not in APP_NAMES:
        return None
    return Candidate(path, name, line, None, None, 1, factory=callee)


def _docs_urls(value: ast.expr) -> dict[str, str | None]:
    """FastAPI(docs_url=..., openapi_url=...) as written, when literal."""
    out: dict[str, str | None] = {}
    if isinstance(value, ast.Call):
        for kw in value.keywords:
            if kw.arg in ("docs_url", "openapi_url", "redoc_url", "root_path") and \
                    isinstance(kw.value, ast.Constant):
                out[kw.arg] = kw.value.value if isinstance(kw.value.value, str) else None
    return out


def _factory_framework(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    for node in ast.walk(fn):
        callee = _callee(node) if isinstance(node, ast.Call) else None
        if callee in FRAMEWORKS:
            return callee
    return None


_WS_DECORATORS = ("websocket", "websocket_route", "ws")
_WS_CALLS = ("WebSocketRoute", "APIWebSocketRoute", "add_websocket_route",
             "add_api_websocket_route", "WebsocketRouteHandler")
_WS_PACKAGES = ("channels", "flask_sock", "flask_socketio", "socketio")


def _websockets(tree: ast.Module, imports: list[Import]) -> list[tuple[str | None, str | None]]:
    """Websocket routes as (the object a decorator is on, the literal path or None); a
    websocket package imported counts as (None, None): somewhere, path unknown."""
    found: list[tuple[str | None, str | None]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else (
            func.id if isinstance(func, ast.Name) else None)
        if not ((isinstance(func, ast.Attribute) and name in _WS_DECORATORS)
                or name in _WS_CALLS):
            continue
        owner = func.value.id if isinstance(func, ast.Attribute) and \
            isinstance(func.value, ast.Name) and name in _WS_DECORATORS else None
        first = node.args[0] if node.args else None
        path = first.value if isinstance(first, ast.Constant) and \
            isinstance(first.value, str) else None
        found.append((owner, path))
    if any(i.module.split(".")[0] in _WS_PACKAGES for i in imports if i.level == 0):
        found.append((None, None))
    return found


def parse(path: str) -> Source | None:
    """Parse one module (None when it cannot be read or is not Python 3 we understand)."""
    try:
        with open(path, "rb") as fh:
            tree = ast.parse(fh.read(MAX_BYTES), filename=path)
    except (OSError, SyntaxError, ValueError):
        return None
    src = Source(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            src.imports.append(Import(node.level, node.module or "",
                                      tuple(a.name for a in node.names), node.lineno))
        elif isinstance(node, ast.Import):
            src.imports += [Import(0, a.name, (), node.lineno) for a in node.names]
        elif isinstance(node, ast.Call) and _callee(node) == "setdefault" and \
                len(node.args) == 2 and isinstance(node.args[0], ast.Constant) and \
                node.args[0].value == "DJANGO_SETTINGS_MODULE" and \
                isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
            # Django imports its settings module by this name: a local import like any other
            src.imports.append(Import(0, node.args[1].value, (), node.lineno))
        elif isinstance(node, ast.Call) and _callee(node) in ("mount", "Mount") and \
                len(node.args) >= 2 and isinstance(node.args[1], ast.Name):
            src.mounted.add(node.args[1].id)  # app.mount("/v1", api): api is a sub-app
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            made = _factory_framework(node)
            if made:
                src.factories[node.name] = made
    for node in _module_statements(tree.body):
        names, value = _assigned(node)
        for name in names:
            found = _candidate(path, name, value, node.lineno) if value is not None else None
            if found:
                src.candidates.append(found)
                if found.framework == "fastapi" and value is not None:
                    src.docs = _docs_urls(value)
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) in APP_NAMES:
                    src.candidates.append(Candidate(
                        path, alias.asname or alias.name, node.lineno, None, None, 1,
                        alias_of=(node.level, node.module or "", alias.name)))
    src.websockets = _websockets(tree, src.imports)
    return src


def _is_venv(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "pyvenv.cfg"))


def python_files(app_dir: str) -> list[str]:
    """The project's own .py files under app_dir: no venv, tests, hidden or build folders."""
    out: list[str] = []
    for top, dirs, files in os.walk(app_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS
                         and not _is_venv(os.path.join(top, d)))
        for name in sorted(files):
            if name.endswith(".py") and not name.startswith("test_") and \
                    not name.endswith("_test.py") and name not in ("conftest.py", "setup.py"):
                out.append(os.path.join(top, name))
                if len(out) >= MAX_FILES:
                    return out
    return out


def scan(app_dir: str) -> dict[str, Source]:
    """Every parsable module of the project, by path."""
    parsed = {p: parse(p) for p in python_files(app_dir)}
    return {p: s for p, s in parsed.items() if s is not None}


def module_file(root: str, dotted: str) -> str | None:
    """The file `dotted` names under an import root (module.py or package/__init__.py)."""
    base = Path(root, *dotted.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return str(path)
    # a namespace package: a folder of modules without __init__.py (not /sys for `sys`)
    try:
        return str(base) if dotted and base.is_dir() and any(base.glob("*.py")) else None
    except OSError:
        return None
