"""Facts checked against their own annotations before any rule reads them.

The parsers trust the shape each source's format has when the agent wrote it; replayed
evidence can hold any JSON inside an item's data or a journal record, which a parser may
pass through (a list where a path is, a dict where a pid is). This check says where a
built fact departs from its dataclass's types, so the engine drops that one fact, with
the reason, instead of a rule or a report tripping over it later. Each type hint is turned
into a checking function once (a few ms for a whole lab recording's facts).

The annotations are strings (`from __future__ import annotations`) written in today's
syntax, `tuple[Unit, ...] | None`, which Python 3.8 cannot evaluate: `hints` reads them
through typing's own names (`Union[Tuple[Unit, ...], None]`), the same on every version.
"""

from __future__ import annotations

import ast
import collections.abc
import dataclasses
import sys
import types
import typing
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Callable, Optional

Check = Callable[[Any, str], Optional[str]]  # (value, where) -> what is wrong, or None
# types.UnionType is `A | B` evaluated, on 3.10 and later; `hints` makes typing.Union.
_UNIONS = (typing.Union, getattr(types, "UnionType", typing.Union))
# What a subscripted builtin or collections.abc class means in an annotation, as typing's
# alias of it, which 3.8 can subscript (`tuple[int]` raises TypeError there).
_GENERICS: dict[Any, Any] = {
    tuple: typing.Tuple, list: typing.List, dict: typing.Dict, set: typing.Set,
    frozenset: typing.FrozenSet, type: typing.Type,
    **{getattr(collections.abc, n): getattr(typing, n) for n in (
        "Callable", "Iterable", "Iterator", "Mapping", "MutableMapping", "Sequence",
        "MutableSequence", "Collection", "Container", "Set", "AbstractSet", "Generator")
       if hasattr(collections.abc, n)}}


class _Typing(ast.NodeTransformer):
    """`A | B` becomes `__union__[A, B]`, `X[...]` becomes `__generic__(X)[...]`."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.op, ast.BitOr):
            return node
        pair = ast.Tuple(elts=[node.left, node.right], ctx=ast.Load())
        return ast.Subscript(value=ast.Name(id="__union__", ctx=ast.Load()),
                             slice=_index(pair), ctx=ast.Load())

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        node.value = ast.Call(func=ast.Name(id="__generic__", ctx=ast.Load()),
                              args=[node.value], keywords=[])
        return node


def _index(value: ast.expr) -> Any:
    """A subscript's slice: wrapped in ast.Index before Python 3.9."""
    return ast.Index(value=value) if sys.version_info < (3, 9) else value


def evaluate(annotation: str, namespace: Mapping[str, Any]) -> Any:
    """The type an annotation string names, read in the names of namespace (its module)."""
    tree = _Typing().visit(ast.parse(annotation.strip(), mode="eval"))
    code = compile(ast.fix_missing_locations(tree), "<annotation>", "eval")
    names = {**namespace, "__union__": typing.Union,
             "__generic__": lambda x: _GENERICS.get(x, x)}
    return eval(code, names)  # noqa: S307 - the package's own annotations, not input


@lru_cache(maxsize=None)
def hints(cls: type) -> Mapping[str, Any]:
    """The annotated types of a class and its bases, as typing.get_type_hints gives them
    (read once per class: a few ms for Facts)."""
    found: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        module = vars(sys.modules[base.__module__])
        for name, ann in vars(base).get("__annotations__", {}).items():
            found[name] = evaluate(ann, module) if isinstance(ann, str) else ann
    return found


def mismatch(value: Any, hint: Any, where: str) -> str | None:
    """Where value departs from the type hint (`path: expected X, got Y`), or None."""
    return checker(hint)(value, where)


def _wrong(want: str, value: Any, where: str) -> str:
    return f"{where}: expected {want}, got {type(value).__name__}"


def _any(value: Any, where: str) -> str | None:
    return None


@lru_cache(maxsize=None)
def checker(hint: Any) -> Check:
    """The checking function of a type hint."""
    origin = typing.get_origin(hint)
    if hint is Any or (origin is None and not isinstance(hint, type)):
        return _any  # a TypeVar or a form this check does not know: accepted
    if origin in _UNIONS:
        return _union(typing.get_args(hint))
    if origin is typing.Literal:
        allowed = typing.get_args(hint)
        return lambda v, w: None if v in allowed else f"{w}: unexpected {v!r:.40}"
    if origin is not None:
        return _generic(origin, typing.get_args(hint))
    if dataclasses.is_dataclass(hint):
        return _dataclass(typing.cast(type, hint))
    kinds = (int, float) if hint is float else hint
    name = hint.__name__
    return lambda v, w: None if isinstance(v, kinds) else _wrong(name, v, w)


def _union(args: tuple[Any, ...]) -> Check:
    optional = type(None) in args
    checks = [checker(a) for a in args if a is not type(None)]

    def check(value: Any, where: str) -> str | None:
        if value is None and optional:
            return None
        found = [c(value, where) for c in checks]
        return None if any(f is None for f in found) else found[0]
    return check


def _generic(origin: Any, args: tuple[Any, ...]) -> Check:
    """tuple[...], list[...], frozenset[...], dict/Mapping[...]."""
    kind = Mapping if origin in (Mapping, dict) else origin
    name = getattr(origin, "__name__", str(origin))
    if not isinstance(kind, type):
        return _any
    if kind is Mapping:
        keys, values = (checker(a) for a in (args or (Any, Any)))

        def mapping(value: Any, where: str) -> str | None:
            if not isinstance(value, Mapping):
                return _wrong(name, value, where)
            for k, v in value.items():
                found = keys(k, where) or values(v, f"{where}[{k!r:.40}]")
                if found:
                    return found
            return None
        return mapping
    fixed = origin is tuple and bool(args) and args[-1] is not Ellipsis
    each = [checker(a) for a in args] if fixed else [checker(args[0] if args else Any)]

    def sequence(value: Any, where: str) -> str | None:
        if not isinstance(value, kind):
            return _wrong(name, value, where)
        values: Any = value
        if fixed and len(values) != len(each):
            return f"{where}: expected {len(each)} values, got {len(values)}"
        for n, v in enumerate(values):
            found = each[n if fixed else 0](v, f"{where}[{n}]")
            if found:
                return found
        return None
    return sequence


def _dataclass(cls: type) -> Check:
    try:
        resolved = hints(cls)
    except (NameError, TypeError, SyntaxError):
        resolved = {}
    fields: list[tuple[str, Check]] = []

    def check(value: Any, where: str) -> str | None:
        if not isinstance(value, cls):
            return _wrong(cls.__name__, value, where)
        if not fields and resolved:  # filled on first use: a field may be of this class
            fields.extend((f.name, checker(resolved[f.name])) for f in dataclasses.fields(cls)
                          if f.name in resolved)
        for name, field_check in fields:
            found = field_check(getattr(value, name), f"{where}.{name}")
            if found:
                return found
        return None
    return check


def fact_types() -> Mapping[str, Any]:
    """The Facts fields and their types."""
    from ..facts import Facts

    return hints(Facts)
