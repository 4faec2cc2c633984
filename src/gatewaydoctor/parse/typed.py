"""Facts checked against their own annotations before any rule reads them.

The parsers trust the shape each source's format has when the agent wrote it; replayed
evidence can hold any JSON inside an item's data or a journal record, which a parser may
pass through (a list where a path is, a dict where a pid is). This check says where a
built fact departs from its dataclass's types, so the engine drops that one fact, with
the reason, instead of a rule or a report tripping over it later. Each type hint is turned
into a checking function once (a few ms for a whole lab recording's facts).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

Check = Callable[[Any, str], "str | None"]  # (value, where) -> what is wrong, or None
_UNIONS = (typing.Union, types.UnionType)


def mismatch(value: Any, hint: Any, where: str) -> str | None:
    """Where value departs from the type hint (`path: expected X, got Y`), or None."""
    return checker(hint)(value, where)


def _wrong(want: str, value: Any, where: str) -> str:
    return f"{where}: expected {want}, got {type(value).__name__}"


def _any(value: Any, where: str) -> str | None:
    return None


@cache
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
        resolved = typing.get_type_hints(cls)
    except (NameError, TypeError):
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


def fact_types() -> dict[str, Any]:
    """The Facts fields and their types."""
    from ..facts import Facts

    return typing.get_type_hints(Facts)
