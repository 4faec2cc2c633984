"""The app's Python: tracebacks, the import probe, the interpreter, its .env keys."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Tuple

from ..findings import Excerpt
from ..i18n import N_

_FRAME_RE = re.compile(r'\s*File "([^"]+)", line (\d+)')
# Frames that are not the app's own code: the stdlib, installed packages, `<frozen ...>`.
_LIBRARY = ("/usr/lib/python", "/usr/local/lib/python", "site-packages/", "dist-packages/", "<")
_DENIED_RE = re.compile(r"\[Errno 13\] Permission denied: '([^']+)'")
# pydantic v2: `<field>` then `  Field required [type=missing, input_value=...]`;
# pydantic v1: `<field>` then `  field required (type=value_error.missing)`.
_FIELD_REQUIRED_RE = re.compile(r"^\s+[Ff]ield required")
_ENVIRON_KEY_RE = re.compile(r"environ\s*\[\s*['\"](\w+)['\"]\s*\]")


@dataclass(frozen=True)
class Traceback:
    """A Python traceback found in the journal or in the import probe's stderr."""

    unit: str | None
    origin: str
    exc_type: str
    exc_message: str
    last_line: str
    text: str
    time: float | None
    source: str
    # Lines the exception printed after its `Type: message` line (pydantic's field list).
    detail: tuple[str, ...] = ()

    @property
    def frame_excerpt(self) -> Excerpt | None:
        """The innermost `File "...", line N` frame and its code line, as one evidence line."""
        lines = self.text.splitlines()
        for i in range(len(lines) - 1, -1, -1):
            m = re.match(r'\s*File "([^"]+)", line (\d+)', lines[i])
            if m and not m.group(1).startswith("<frozen"):
                code = lines[i + 1].strip() if i + 1 < len(lines) else ""
                return Excerpt(f"{m.group(1)}:{m.group(2)}", code or lines[i].strip())
        return None

    # app, config and permission rules: what a traceback says about the app.

    @property
    def excerpts(self) -> tuple[Excerpt, ...]:
        """Its last line and its innermost frame, as evidence."""
        frame = self.frame_excerpt
        return (Excerpt(self.source, self.last_line), *((frame,) if frame else ()))

    @property
    def missing_module(self) -> str | None:
        """The module a `No module named 'x'` names (not `x.y; 'x' is not a package`)."""
        m = re.match(r"No module named '([^']+)'", self.exc_message)
        return m.group(1) if m and "is not a package" not in self.exc_message else None

    @property
    def app_frame(self) -> Excerpt | None:
        """The innermost frame in the app's own code (not the stdlib or an installed package)."""
        lines = self.text.splitlines()
        for i in range(len(lines) - 1, -1, -1):
            m = _FRAME_RE.match(lines[i])
            if m and not any(part in m.group(1) for part in _LIBRARY):
                code = lines[i + 1].strip() if i + 1 < len(lines) else ""
                return Excerpt(f"{m.group(1)}:{m.group(2)}", code or lines[i].strip())
        return None

    @property
    def app_excerpts(self) -> tuple[Excerpt, ...]:
        """Its last line and its innermost frame in the app's own code, as evidence."""
        frame = self.app_frame
        return (Excerpt(self.source, self.last_line), *((frame,) if frame else ()))

    @property
    def at_import(self) -> bool:
        """Raised while the app was being imported (a boot failure, not a request's error)."""
        return "importlib" in self.text and ("import_module" in self.text or
                                             "_bootstrap" in self.text)

    @property
    def denied_path(self) -> str | None:
        """The path of a `PermissionError: [Errno 13] Permission denied: '...'`."""
        m = _DENIED_RE.search(self.last_line)
        return m.group(1) if m else None

    @property
    def missing_fields(self) -> list[str]:
        """Settings fields a pydantic ValidationError reports as missing (`Field required`)."""
        if not self.exc_type.endswith("ValidationError"):
            return []
        lines = list(self.detail) or self.exc_message.splitlines()[1:]
        return [lines[i - 1].strip() for i in range(1, len(lines))
                if _FIELD_REQUIRED_RE.match(lines[i]) and lines[i - 1].strip()]

    @property
    def environ_key(self) -> str | None:
        """The variable of a KeyError raised by `os.environ['X']` in the innermost frame."""
        if self.exc_type.split(".")[-1] != "KeyError":
            return None
        frame = self.frame_excerpt
        m = _ENVIRON_KEY_RE.search(frame.text) if frame else None
        return m.group(1) if m else None

    def needs_python(self, have: tuple[int, int]) -> tuple[tuple[int, int], str, bool] | None:
        """(version, what, needs_newer) when it shows code written for another Python than
        `have`: a stdlib name or module added later (or removed), newer syntax or typing."""
        kind = self.exc_type.split(".")[-1]
        for check in (_needs_name, _needs_module, _needs_syntax, _needs_runtime):
            need = check(self, kind, have)
            if need is not None:
                return need
        return None


@dataclass(frozen=True)
class ImportProbe:
    """The unit's interpreter importing the app target like the server would."""

    unit: str
    interpreter: str
    cwd: str
    module: str
    attr: str
    user: str
    ok: bool
    rc: int | None
    stage: str | None
    exc_type: str | None
    exc_message: str | None
    exc_name: str | None
    stderr: str
    note: str | None
    source: str


@dataclass(frozen=True)
class PythonInfo:
    """The interpreter a unit runs and its version."""

    unit: str
    interpreter: str | None
    version: str | None
    error: str | None
    source: str


@dataclass(frozen=True)
class EnvFile:
    """An EnvironmentFile/.env: which keys it sets (never the values)."""

    path: str
    exists: bool
    keys: tuple[str, ...]
    error: str | None
    source: str

    # config rules
    @property
    def excerpt(self) -> Excerpt:
        """Which keys it sets (never the values), or why it could not be read, as evidence."""
        if not self.exists:
            return Excerpt(self.source, self.error or f"{self.path} does not exist")
        keys = ", ".join(self.keys) or "(none)"
        return Excerpt(self.source, f"{self.path} sets: {keys} (keys only, values not read)")


@dataclass(frozen=True)
class DirListing:
    """The entry names of a directory (a unit's WorkingDirectory)."""

    path: str
    names: frozenset[str]
    error: str | None
    source: str = ""  # the evidence it was read from: `fs.listing:<path>`


# Standard-library names and the Python version that added them (Traceback.needs_python).
ADDED: dict[str, dict[str, tuple[int, int]]] = {
    "typing": {
        **dict.fromkeys(("Literal", "Final", "final", "Protocol", "TypedDict", "runtime_checkable",
                         "SupportsIndex", "get_origin", "get_args"), (3, 8)),
        "Annotated": (3, 9),
        **dict.fromkeys(("ParamSpec", "Concatenate", "TypeAlias", "TypeGuard", "is_typeddict",
                         "ParamSpecArgs", "ParamSpecKwargs"), (3, 10)),
        **dict.fromkeys(("Self", "LiteralString", "Never", "assert_never", "assert_type",
                         "reveal_type", "dataclass_transform", "Required", "NotRequired",
                         "TypeVarTuple", "Unpack", "get_overloads", "clear_overloads"), (3, 11)),
        **dict.fromkeys(("override", "TypeAliasType"), (3, 12)),
        **dict.fromkeys(("TypeIs", "ReadOnly", "NoDefault", "get_protocol_members",
                         "is_protocol"), (3, 13)),
    },
    "types": {"GenericAlias": (3, 9), "NoneType": (3, 10), "EllipsisType": (3, 10),
              "NotImplementedType": (3, 10), "UnionType": (3, 10),
              "get_original_bases": (3, 12)},
    "datetime": {"UTC": (3, 11)},
    "enum": dict.fromkeys(("StrEnum", "ReprEnum", "EnumCheck", "FlagBoundary", "verify",
                           "member", "nonmember", "global_enum"), (3, 11)),
    "itertools": {"pairwise": (3, 10), "batched": (3, 12)},
    "functools": {"cache": (3, 9)},
    "contextlib": {"aclosing": (3, 10), "chdir": (3, 11)},
    "asyncio": {"to_thread": (3, 9), "TaskGroup": (3, 11), "timeout": (3, 11),
                "timeout_at": (3, 11), "Runner": (3, 11), "Barrier": (3, 11),
                "eager_task_factory": (3, 12), "QueueShutDown": (3, 13)},
    "collections.abc": {"Buffer": (3, 12)},
    "warnings": {"deprecated": (3, 13)},
    "math": {"lcm": (3, 9), "cbrt": (3, 11), "exp2": (3, 11), "sumprod": (3, 12),
             "fma": (3, 13)},
    "hashlib": {"file_digest": (3, 11)},
    "operator": {"call": (3, 11)},
    "inspect": {"get_annotations": (3, 10), "markcoroutinefunction": (3, 12)},
}
ADDED_MODULES = {"zoneinfo": (3, 9), "graphlib": (3, 9), "tomllib": (3, 11)}
REMOVED_MODULES = {
    **dict.fromkeys(("distutils", "imp", "asynchat", "asyncore", "smtpd"), (3, 12)),
    **dict.fromkeys(("cgi", "cgitb", "crypt", "imghdr", "sndhdr", "telnetlib", "pipes", "nntplib",
                     "audioop", "chunk", "mailcap", "msilib", "nis", "ossaudiodev", "spwd",
                     "sunau", "uu", "xdrlib", "aifc", "lib2to3"), (3, 13)),
}
# Syntax and the version that introduced it: PEP 695 (3.12), except* (3.11), match (3.10).
# What a check names is English evidence; the rule translates the N_() ones when it tells it.
NEW_SYNTAX = (
    (re.compile(r"^\s*type\s+\w+\s*(\[[^\]]*\])?\s*="), (3, 12),
     N_("the `type X = ...` statement")),
    (re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+\w+\s*\["), (3, 12),
     N_("type parameter lists (`def f[T](...)`)")),
    (re.compile(r"^\s*except\s*\*"), (3, 11), "`except*`"),
    (re.compile(r"^\s*match\s+\S.*:\s*$|^\s*case\s+\S.*:\s*$"), (3, 10),
     N_("the `match` statement")),
)
_IMPORT_NAME_RE = re.compile(r"cannot import name '([\w]+)' from '([\w.]+)'")
_ATTR_RE = re.compile(r"module '([\w.]+)' has no attribute '(\w+)'")
_NO_MODULE_RE = re.compile(r"No module named '([\w.]+)'")
Need = Tuple[Tuple[int, int], str, bool]


def _needs_name(tb: Traceback, kind: str, have: tuple[int, int]) -> Need | None:
    """`cannot import name 'Self' from 'typing'`, `module 'itertools' has no attribute ...`."""
    m = _IMPORT_NAME_RE.search(tb.exc_message) if kind == "ImportError" else None
    a = _ATTR_RE.search(tb.exc_message) if kind == "AttributeError" else None
    module, name = (m.group(2), m.group(1)) if m else (a.group(1), a.group(2)) if a else ("", "")
    added = ADDED.get(module, {}).get(name)
    return (added, f"{module}.{name}", True) if added and added > have else None


def _needs_module(tb: Traceback, kind: str, have: tuple[int, int]) -> Need | None:
    """`No module named 'tomllib'` before 3.11, `'distutils'` from 3.12 on."""
    n = _NO_MODULE_RE.search(tb.exc_message) if kind == "ModuleNotFoundError" else None
    top = n.group(1).split(".")[0] if n else ""
    if top in ADDED_MODULES and ADDED_MODULES[top] > have:
        return ADDED_MODULES[top], f"the module {top}", True
    if top in REMOVED_MODULES and REMOVED_MODULES[top] <= have:
        return REMOVED_MODULES[top], f"the module {top}", False
    return None


def _needs_syntax(tb: Traceback, kind: str, have: tuple[int, int]) -> Need | None:
    """A SyntaxError on a line written in newer syntax."""
    if kind not in ("SyntaxError", "IndentationError"):
        return None
    code = tb.text.splitlines()[-1] if tb.text else ""
    frame = tb.frame_excerpt
    for line in (frame.text if frame else "", code):
        for pattern, version, what in NEW_SYNTAX:
            if pattern.search(line) and version > have:
                return version, what, True
    return None


def _needs_runtime(tb: Traceback, kind: str, have: tuple[int, int]) -> Need | None:
    """Annotations evaluated at runtime: `int | None` before 3.10, `list[int]` before 3.9."""
    if kind != "TypeError":
        return None
    if "unsupported operand type(s) for |" in tb.exc_message and have < (3, 10):
        return (3, 10), N_("`X | Y` union types at runtime"), True
    if "object is not subscriptable" in tb.exc_message and have < (3, 9):
        return (3, 9), N_("built-in generics such as `list[int]`"), True
    return None
