"""Checking ``workflows run``'s arguments against the workflow's type annotations.

Why: ``--arg amount=abc`` for ``amount: float`` used to be accepted, stored, and then
fail on a worker as a ``TypeError`` inside the workflow (retried, or parked), long
after the operator who typed it had gone. The command line is text, so a mistyped
value is an operator's error and is refused at the door, naming the parameter and
the type it wants.

Only the CLI checks: an app calling ``start()`` in Python passes real objects and
keeps whatever types it passes. The check is pydantic's ``TypeAdapter`` in lax mode
(pydantic is a core dependency): ``5`` fits ``float``, ``"abc"`` does not. Values are
only checked, never replaced: the run gets what ``bind_arguments`` parsed, as before.
An annotation that cannot be resolved or that pydantic cannot check (a forward
reference to a missing name, an arbitrary class) is not checked rather than refused.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import typing
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ._arguments import ArgumentError, format_signature, shown_text

if TYPE_CHECKING:
    import pydantic

__all__ = ["check_argument_types"]


@functools.cache
def _pydantic() -> ModuleType:
    """pydantic, imported the first time a command checks arguments: every CLI command
    imports this module, ``pyworkflow worker run`` included, and pydantic costs each
    worker process ~6 MB that a worker never uses."""
    return importlib.import_module("pydantic")

_P = inspect.Parameter


def check_argument_types(name: str, fn: Callable[..., Any], args: Sequence[Any],
                         kwargs: dict[str, Any]) -> None:
    """Raise :class:`ArgumentError` for the first value that does not fit its
    parameter's annotation (``args``/``kwargs`` already bound to the signature)."""
    signature = inspect.signature(fn)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return  # the binding's own error is bind_arguments' and start()'s to report
    hints = _hints(fn)
    for pname, value in bound.arguments.items():
        param = signature.parameters[pname]
        hint = hints.get(pname)
        if hint is None:
            continue
        if param.kind is _P.VAR_POSITIONAL:
            items: list[tuple[str, Any]] = [(f"{pname}[{i}]", v) for i, v in enumerate(value)]
        elif param.kind is _P.VAR_KEYWORD:
            items = list(value.items())
        else:
            items = [(pname, value)]
        for shown, item in items:
            _check(name, signature, shown, hint, item)


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The resolved annotations, or none at all when they cannot be resolved."""
    try:
        return typing.get_type_hints(inspect.unwrap(fn))
    except Exception:  # a forward reference to a name the module never defines
        return {}


def _check(workflow: str, signature: inspect.Signature, shown: str, hint: Any,
           value: Any) -> None:
    adapter = _adapter(hint)
    if adapter is None:
        return
    try:
        adapter.validate_python(value)
    except _pydantic().ValidationError:
        expected = inspect.formatannotation(hint)
        raise ArgumentError(
            f"parameter {shown!r} of {workflow} expects {expected}, got "
            f"{shown_text(repr(value))} ({format_signature(workflow, signature)})") from None


def _adapter(hint: Any) -> pydantic.TypeAdapter[Any] | None:
    try:
        adapter: pydantic.TypeAdapter[Any] = _pydantic().TypeAdapter(hint)
        return adapter
    except Exception:  # pydantic has no schema for it (an arbitrary class): not checked
        return None
