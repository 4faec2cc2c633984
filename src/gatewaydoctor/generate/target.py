"""The `module:attr` a server must import, and the folder it must import it from.

The import root (the sys.path entry) is found from how the code imports itself, so that the
server imports the module the way its own imports expect: `from .config import x` needs the
module imported as part of its package (`backend.main:app` from the package's parent, the
failure GD-APP-001 relative-import diagnoses); `from config import x` needs the module's own
folder; `from shop.settings import x` needs the folder holding `shop/`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import GatewayDoctorError
from ..i18n import _
from .appscan import FRAMEWORKS, Candidate, Source, module_file, scan

MAX_ABOVE = 3  # how far above the app folder a package's parent may be
MAX_FOLLOW = 200  # local modules followed from the app's module


@dataclass(frozen=True)
class Target:
    """The app: what to import, from where, and what it is."""

    module: str
    attr: str
    file: str
    line: int
    root: str  # the import root: a sys.path entry
    kind: str | None  # asgi | wsgi (None: unknown)
    framework: str | None
    relative: bool  # the app's modules use relative imports
    websockets: tuple[str, ...]  # exact paths; ("/",) when not known exactly
    docs: tuple[str, ...]  # FastAPI's docs paths that must reach the app

    @property
    def spec(self) -> str:
        return f"{self.module}:{self.attr}"


def _source_of_alias(cand: Candidate, sources: dict[str, Source]) -> Source | None:
    assert cand.alias_of is not None
    level, module, _name = cand.alias_of
    if level:
        base = os.path.dirname(cand.file)
        for _i in range(level - 1):
            base = os.path.dirname(base)
        path = module_file(base, module) if module else None
        return sources.get(path or "")
    tail = module.replace(".", os.sep)
    return next((s for p, s in sources.items()
                 if p.endswith(os.sep + tail + ".py")
                 or p.endswith(os.sep + tail + os.sep + "__init__.py")), None)


def _resolve(sources: dict[str, Source]) -> list[Candidate]:
    """Candidates with factories and re-exports resolved; re-exported objects dropped."""
    factories = {name: fw for s in sources.values() for name, fw in s.factories.items()}
    dropped: set[int] = set()
    every = [c for s in sources.values() for c in s.candidates]
    for cand in every:
        src = sources[cand.file]
        if cand.factory in factories:
            cand.framework, cand.kind = FRAMEWORKS[factories[cand.factory]]
            cand.strength = 2
        elif cand.alias_of is not None:
            origin = _source_of_alias(cand, sources)
            same = next((c for c in (origin.candidates if origin else [])
                         if c.attr == cand.alias_of[2]), None)
            if same is not None:
                cand.framework, cand.kind, cand.strength = same.framework, same.kind, \
                    max(same.strength, cand.strength)
                dropped.add(id(same))
        if cand.kind is None:
            cand.kind = src.kind_from_imports
        if cand.attr in src.mounted:
            dropped.add(id(cand))
    return [c for c in every if id(c) not in dropped]


def _pick(cands: list[Candidate], sources: dict[str, Source], app_dir: str) -> Candidate:
    if not cands:
        raise GatewayDoctorError(_(
            "no app found in {dir}: no FastAPI(...), Flask(...), Django wsgi.py/asgi.py or "
            "module-level `app`/`application`; name it with --target module:attr").format(
            dir=app_dir))
    best = max(c.strength for c in cands)
    top = [c for c in cands if c.strength == best]
    if len(top) > 1 and all(c.framework in ("django", "channels") for c in top):
        ws = any(s.websockets for s in sources.values())  # channels: the ASGI one
        top = [c for c in top if c.kind == ("asgi" if ws else "wsgi")] or top
    if len(top) > 1:
        listed = ", ".join(f"{os.path.relpath(c.file, app_dir)}:{c.line} ({c.attr})"
                           for c in top)
        raise GatewayDoctorError(_(
            "{count} apps found in {dir}: {listed}; pick one with --target module:attr").format(
            count=len(top), dir=app_dir, listed=listed))
    return top[0]


def _parts(file: str, root: str) -> list[str] | None:
    rel = os.path.relpath(file, root)
    if rel.startswith(".."):
        return None
    parts = rel[:-3].split(os.sep)
    if parts[-1] == "__init__":
        parts.pop()
    return parts if parts and all(p.isidentifier() for p in parts) else None


def _roots(file: str, app_dir: str) -> list[str]:
    """Possible import roots: the module's folder and its ancestors, up to a few above
    app_dir (a package's parent)."""
    out = []
    path = os.path.dirname(file)
    stop = app_dir
    for _i in range(MAX_ABOVE):
        stop = os.path.dirname(stop)
    while path != os.path.dirname(path):  # never the filesystem's root
        out.append(path)
        if path == stop:
            break
        path = os.path.dirname(path)
    return out


def _local(top: str, roots: list[str]) -> bool:
    return any(module_file(r, top) for r in roots)


def _consistent(file: str, root: str, roots: list[str],
                sources: dict[str, Source]) -> tuple[bool, bool]:
    """(whether every local import resolves with this root, whether any is relative)."""
    queue, seen, relative = [file], {file}, False
    while queue and len(seen) < MAX_FOLLOW:
        path = queue.pop()
        parts = _parts(path, root)
        src = sources.get(path)
        if parts is None:
            return False, relative
        package = parts if path.endswith("__init__.py") else parts[:-1]
        for imp in src.imports if src else []:
            if imp.level:
                relative = True
                if imp.level > len(package):
                    return False, relative
                dotted = ".".join([*package[:len(package) - imp.level + 1],
                                   *([imp.module] if imp.module else [])])
            else:
                dotted = imp.module
                top = dotted.split(".")[0]
                if not module_file(root, top):
                    if _local(top, roots):
                        return False, relative
                    continue
            for name in (dotted, *(f"{dotted}.{n}" for n in imp.names)):
                found = module_file(root, name)
                if found and found.endswith(".py") and found not in seen:
                    seen.add(found)
                    queue.append(found)
    return True, relative


def import_root(file: str, app_dir: str, sources: dict[str, Source]) -> tuple[str, bool]:
    """The import root for `file` (app_dir itself when it works), and whether relative
    imports are in play."""
    roots = _roots(file, app_dir)

    def namespace(root: str) -> bool:
        """A folder between root and the module has no __init__.py: `src.app.main` from a
        project root works, but `app.main` from src/ is what was meant."""
        folder = os.path.dirname(file)
        while folder != root and len(folder) > len(root):
            if not os.path.isfile(os.path.join(folder, "__init__.py")):
                return True
            folder = os.path.dirname(folder)
        return False

    # regular packages first, then app_dir itself, then the nearest to the module
    order = sorted(roots, key=lambda r: (namespace(r), r != app_dir, roots.index(r)))
    relative = False
    for root in order:
        ok, rel = _consistent(file, root, roots, sources)
        relative = relative or rel
        if ok:
            return root, rel
    raise GatewayDoctorError(_(
        "the imports of {file} resolve from no folder between it and {top}: check them (a "
        "local module missing?), or name the app with --target module:attr").format(
        file=file, top=roots[-1]))


def _websockets(sources: dict[str, Source], app: Candidate) -> tuple[str, ...]:
    """The app's websocket paths, exactly where declared on the app itself in its own
    module; ("/",) when any is elsewhere (a router's or a mount's prefix is not known)."""
    paths = []
    for src in sources.values():
        for owner, path in src.websockets:
            exact = src.path == app.file and owner in (None, app.attr)
            paths.append(path if exact else None)
    if not paths:
        return ()
    if None in paths:
        return ("/",)
    return tuple(dict.fromkeys(p for p in paths if p))


def _docs(src: Source, framework: str | None) -> tuple[str, ...]:
    if framework != "fastapi":
        return ()
    root = src.docs.get("root_path") or ""
    urls = [src.docs.get(k, d) for k, d in (("docs_url", "/docs"),
                                             ("openapi_url", "/openapi.json"))]
    if not urls[1]:  # openapi_url=None turns the docs off too
        return ()
    return tuple(root.rstrip("/") + u for u in urls if u)


def _by_target(spec: str, app_dir: str, sources: dict[str, Source]) -> Candidate:
    module, sep, attr = spec.partition(":")
    if not sep or not attr or not all(p.isidentifier() for p in module.split(".")):
        raise GatewayDoctorError(_("--target must be module:attr (e.g. {example}), not "
                                   "{given!r}").format(example="app.main:app", given=spec))
    tail = module.replace(".", os.sep)
    for path in sorted(sources, key=len):
        if path.endswith((os.sep + tail + ".py", os.sep + tail + os.sep + "__init__.py")):
            src = sources[path]
            found = next((c for c in _resolve({path: src}) if c.attr == attr), None)
            return found or Candidate(path, attr, 1, None, src.kind_from_imports, 1)
    raise GatewayDoctorError(_("--target {target}: no {file} under {dir}").format(
        target=spec, file=tail + ".py", dir=app_dir))


def find(app_dir: str, spec: str | None = None) -> Target:
    """Find the app under app_dir (or the one --target names) and how to import it."""
    sources = scan(app_dir)
    cand = _by_target(spec, app_dir, sources) if spec else _pick(
        _resolve(sources), sources, app_dir)
    root, relative = import_root(cand.file, app_dir, sources)
    parts = _parts(cand.file, root) or []
    src = sources[cand.file]
    return Target(module=".".join(parts), attr=cand.attr, file=cand.file, line=cand.line,
                  root=root, kind=cand.kind, framework=cand.framework, relative=relative,
                  websockets=_websockets(sources, cand), docs=_docs(src, cand.framework))
