"""The one encoder and the one decoder of every message and task payload.

A wire shape is a frozen dataclass (one per message kind or task payload, in the
modules beside this one). ``encode`` turns one into the JSON-ready dict that goes
into a mailbox message or a task's kwargs; ``decode`` checks a dict against its
shape (each field's type, required fields present) and returns the dataclass, or
raises :class:`WireError` naming every field that does not fit. Nothing else builds
or reads these dicts, so what a sender writes and what a worker reads cannot drift.

Why the check is written here rather than with pydantic: the shapes are flat (a
few ``str``/``int``/``bool``/``float`` fields, JSON values passed through as they
are), the check runs on every message a worker handles, and importing pydantic in
every worker process costs about 6 MB of resident memory a process (measured with
``ops/bench/run.py``: worker RSS 179 -> 203 MB) for what ``isinstance`` does in a
microsecond. Each shape's checks are built once, from its type hints; a hint this
module does not know fails at that moment, not on a message.

Rolling upgrades: fields a newer writer adds are ignored by an older reader (the
dataclasses keep only their own fields), and a shape that changed since the last
release reads the old form through its ``upgrade`` class method, in one place.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["WireError", "decode", "encode"]

T = TypeVar("T")
#: A field's check: None when the value fits, else what is wrong with it.
Check = Callable[[Any], "str | None"]


class WireError(ValueError):
    """A payload that does not fit its shape: refused (dead-lettered), never guessed."""


def _is(kind: type[Any], name: str) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return None
        return f"expected {name}, got {type(value).__name__}"
    return check


def _number(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return None
    return f"expected a number, got {type(value).__name__}"


def _anything(value: Any) -> str | None:
    return None


def _check_for(hint: Any) -> Check:
    """The check of one type hint (the few kinds the shapes use)."""
    if hint is Any:
        return _anything
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        inner = _check_for(options[0]) if len(options) == 1 else _anything
        return lambda value: None if value is None else inner(value)
    base = origin or hint
    if base is float:
        return _number
    if base in (str, int, bool, dict, list):
        return _is(base, {str: "a string", int: "an integer", bool: "true or false",
                          dict: "an object", list: "an array"}[base])
    raise TypeError(f"the wire has no check for the type hint {hint!r}")


_FIELDS: dict[type[Any], tuple[tuple[str, bool, Check], ...]] = {}


def _fields(cls: type[Any]) -> tuple[tuple[str, bool, Check], ...]:
    """``(name, required, check)`` per field of a shape, built on first use."""
    found = _FIELDS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = _FIELDS[cls] = tuple(
            (f.name, f.default is dataclasses.MISSING
             and f.default_factory is dataclasses.MISSING, _check_for(hints[f.name]))
            for f in dataclasses.fields(cls))
    return found


def encode(shape: Any) -> dict[str, Any]:
    """The dict that travels: every field that is set (None is left out, so an old
    reader that lacks a new optional field sees no difference)."""
    out: dict[str, Any] = {}
    for name, _required, _check in _fields(type(shape)):
        value = getattr(shape, name)
        if value is not None:
            out[name] = value
    return out


def decode(cls: type[T], raw: Any) -> T:
    """``raw`` checked against ``cls``; :class:`WireError` with the field errors if not."""
    if not isinstance(raw, dict):
        raise WireError(f"{cls.__name__}: expected an object, got {type(raw).__name__}")
    upgrade = getattr(cls, "upgrade", None)
    if upgrade is not None:
        raw = upgrade(raw)
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, required, check in _fields(cls):
        if name not in raw:
            if required:
                problems.append(f"{name}: field required")
            continue
        wrong = check(raw[name])
        if wrong is not None:
            problems.append(f"{name}: {wrong}")
        values[name] = raw[name]
    if problems:
        raise WireError(f"{cls.__name__}: {'; '.join(problems[:5])}")
    return cls(**values)
