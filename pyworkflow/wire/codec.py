"""The one encoder and the one decoder of every message and task payload.

A wire shape is a frozen dataclass (one per message kind or task payload, in the
modules beside this one). ``encode`` turns one into the JSON-ready dict that goes
into a mailbox message or a task's kwargs; ``decode`` checks a dict against its
shape with pydantic (types, required fields) and returns the dataclass, or raises
:class:`WireError` naming every field that does not fit. Nothing else builds or
reads these dicts, so what a sender writes and what a worker reads cannot drift.

Rolling upgrades: fields a newer writer adds are ignored by an older reader (the
dataclasses keep only their own fields), and a shape that changed since the last
release reads the old form through its ``upgrade`` class method, in one place.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

__all__ = ["WireError", "decode", "encode"]

T = TypeVar("T")


class WireError(ValueError):
    """A payload that does not fit its shape: refused (dead-lettered), never guessed."""


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}
_NAMES: dict[type[Any], tuple[str, ...]] = {}


def _adapter(cls: type[Any]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    return adapter


def _names(cls: type[Any]) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def encode(shape: Any) -> dict[str, Any]:
    """The dict that travels: every field that is set (None is left out, so an old
    reader that lacks a new optional field sees no difference)."""
    out: dict[str, Any] = {}
    for name in _names(type(shape)):
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
    try:
        return _adapter(cls).validate_python(raw)  # type: ignore[no-any-return]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors()[:5])
        raise WireError(f"{cls.__name__}: {problems}") from None
