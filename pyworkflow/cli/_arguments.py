"""Turning ``--arg key=value`` / ``--args-json`` into a workflow's call arguments.

Pure functions, no Redis and no click, so every error message is unit-tested.

Why these rules:

* A value is read as JSON when it parses (``amount=99.99`` is a float, ``limit=5``
  an int, ``tags=["a","b"]`` a list) and is otherwise the raw text
  (``order_id=order-123``), so the common case needs no shell quoting.
* A parameter annotated ``str`` always gets the raw text: ``--arg order_id=123``
  must not turn an id into the int 123. ``'"..."'`` still forces a JSON string.
* ``NaN``/``Infinity`` (which Python's ``json`` accepts) stay strings: the
  journal refuses non-finite floats, and nobody types ``nan`` meaning a float.
* Values are read by the one checked JSON reader the HTTP endpoint and the worker
  share (:func:`pyworkflow.serialization.parse_json`): a value nested deeper or
  larger than the limits is an error here, not a run that fails on a worker.
* Arguments are text: bytes that are not UTF-8 (which a shell passes through, and
  Python keeps as lone surrogates) are refused with the argument shown, rather than
  failing later in Redis with an encoder's traceback.
* Arguments are checked against the signature *before* the run starts, and the
  error names the parameter, shows the signature and suggests the closest name:
  a typo must not start a run that fails later on a worker.
* The split between positional (``--args-json '[...]'``) and keyword arguments
  is kept as the user gave it, so the run record shows the names they typed.
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Iterable, Sequence
from typing import Any

from ..serialization import PayloadError, parse_json

__all__ = ["ArgumentError", "bind_arguments", "check_command_line", "format_signature",
           "parse_arg", "parse_value", "shown_text"]

_SURROGATE = re.compile("[\ud800-\udfff]")

_P = inspect.Parameter


class ArgumentError(ValueError):
    """The command-line arguments do not fit the workflow; the message says how."""


class _Bare:
    """An annotation rendered without quotes (``from __future__ import annotations``
    leaves annotations as strings, which ``inspect`` would print as ``'str'``)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _annotation_text(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    return inspect.formatannotation(annotation)


def format_signature(name: str, signature: inspect.Signature, *, returns: bool = False) -> str:
    """``order_workflow(order_id: str, amount: float)``, as a user would write it."""
    params = [
        p if p.annotation is _P.empty
        else p.replace(annotation=_Bare(_annotation_text(p.annotation)))
        for p in signature.parameters.values()
    ]
    ret = signature.return_annotation
    ret = _Bare(_annotation_text(ret)) if returns and ret is not inspect.Signature.empty else (
        inspect.Signature.empty)
    return f"{name}{signature.replace(parameters=params, return_annotation=ret)}"


def shown_text(text: str) -> str:
    """``text`` printable whatever it holds: undecodable bytes become U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def _check_utf8(text: str, what: str) -> None:
    bad = _SURROGATE.search(text)
    if bad is not None:
        raw = bad.group().encode("utf-8", "surrogateescape") if "\udc80" <= bad.group() <= \
            "\udcff" else b""
        byte = f" (byte 0x{raw[0]:02x} at character {bad.start()})" if raw else ""
        raise ArgumentError(f"{what} {shown_text(text)!r} is not valid UTF-8{byte}; "
                            "pyworkflow reads its arguments as UTF-8 text")


def check_command_line(args: Sequence[str]) -> None:
    """Refuse a command line holding bytes that are not UTF-8 (a run id, a token, a value)."""
    for arg in args:
        _check_utf8(arg, "the argument")


def _wants_text(param: inspect.Parameter | None) -> bool:
    """True when the parameter is annotated plain ``str`` (as a type or a string)."""
    if param is None:
        return False
    return param.annotation is str or param.annotation == "str"


def parse_value(text: str, param: inspect.Parameter | None = None) -> Any:
    """Read one ``--arg`` value: raw text for ``str`` parameters, else JSON, else text."""
    _check_utf8(text, "the value")
    if _wants_text(param):
        return text
    try:
        return parse_json(text, "the value")
    except PayloadError as exc:
        if exc.reason != "json":  # too deep or too big: JSON, but more than a run takes
            raise ArgumentError(str(exc)) from None
        return text


def parse_arg(item: str) -> tuple[str, str]:
    """Split ``key=value`` at the first ``=``; the value may itself contain ``=``."""
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ArgumentError(
            f"malformed --arg {item!r}: expected KEY=VALUE, e.g. --arg amount=99.99")
    return key, value


def _accepts_var_keyword(signature: inspect.Signature) -> bool:
    return any(p.kind is _P.VAR_KEYWORD for p in signature.parameters.values())


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _keyword_names(signature: inspect.Signature) -> list[str]:
    return [p.name for p in signature.parameters.values()
            if p.kind in (_P.POSITIONAL_OR_KEYWORD, _P.KEYWORD_ONLY)]


def _parse_args_json(text: str, shown: str) -> tuple[list[Any], dict[str, Any]]:
    try:
        data = parse_json(text, "--args-json")
    except PayloadError as exc:
        hint = (f"; expected an object of keyword arguments or a list of positional ones "
                f"for {shown}") if exc.reason == "json" else f" for {shown}"
        raise ArgumentError(f"{exc}{hint}") from None
    if isinstance(data, dict):
        return [], data
    if isinstance(data, list):
        return data, {}
    raise ArgumentError(f"--args-json must be a JSON object (keyword arguments) or a list "
                        f"(positional arguments) for {shown}, got {type(data).__name__}")


def _collect_keywords(items: Sequence[str], signature: inspect.Signature, shown: str,
                      base: dict[str, Any]) -> dict[str, Any]:
    """Merge ``--arg`` items over the ``--args-json`` object (a flag overrides a file)."""
    kwargs = dict(base)
    seen: set[str] = set()
    for item in items:
        try:
            key, text = parse_arg(item)
        except ArgumentError:
            token = (item.split() or [""])[0]
            example = token if token.isidentifier() else next(
                iter(_keyword_names(signature)), "name")
            raise ArgumentError(f"malformed --arg {item!r}: expected KEY=VALUE, e.g. "
                                f"--arg {example}=VALUE, for {shown}") from None
        _check_utf8(item, "--arg")
        if key in seen:
            raise ArgumentError(f"parameter {key!r} given twice with --arg for {shown}")
        seen.add(key)
        try:
            kwargs[key] = parse_value(text, signature.parameters.get(key))
        except ArgumentError as exc:
            raise ArgumentError(f"--arg {key}: {exc} for {shown}") from None
    return kwargs


def _check_names(signature: inspect.Signature, positional: list[Any], kwargs: dict[str, Any],
                 shown: str) -> None:
    params = list(signature.parameters.values())
    takes_varargs = any(p.kind is _P.VAR_POSITIONAL for p in params)
    slots = [p for p in params if p.kind in (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)]
    if len(positional) > len(slots) and not takes_varargs:
        raise ArgumentError(f"too many positional arguments ({len(positional)}) for {shown}, "
                            f"which takes at most {len(slots)}")
    filled = {p.name for p in slots[:len(positional)]}
    by_name = signature.parameters
    for key in kwargs:
        param = by_name.get(key)
        if param is not None and param.kind is _P.POSITIONAL_ONLY:
            raise ArgumentError(f"parameter {key!r} of {shown} is positional-only: pass it "
                                "with --args-json '[...]'")
        if param is None or param.kind in (_P.VAR_POSITIONAL, _P.VAR_KEYWORD):
            if _accepts_var_keyword(signature):  # **kwargs takes any name, as in Python
                continue
            raise ArgumentError(f"unknown parameter {key!r} for {shown}"
                                f"{_suggest(key, _keyword_names(signature))}")
        if key in filled:
            raise ArgumentError(f"parameter {key!r} of {shown} is given both in the "
                                "--args-json list and by name")
    missing = [p.name for p in params
               if p.default is _P.empty and p.kind not in (_P.VAR_POSITIONAL, _P.VAR_KEYWORD)
               and p.name not in filled and p.name not in kwargs]
    if missing:
        names = ", ".join(repr(n) for n in missing)
        hint = " ".join(f"--arg {n}=VALUE" for n in missing)
        noun = "parameter" if len(missing) == 1 else "parameters"
        raise ArgumentError(f"missing {noun} {names} for {shown}: pass {hint}")


def bind_arguments(name: str, signature: inspect.Signature, arg_items: Sequence[str] = (),
                   args_json: str | None = None) -> tuple[list[Any], dict[str, Any]]:
    """Build ``(args, kwargs)`` for workflow ``name`` from the command line.

    Raises :class:`ArgumentError` with a one-line message that shows the signature.
    The result is validated with ``Signature.bind``, so what passes here is a call
    the workflow function accepts.
    """
    shown = format_signature(name, signature)
    positional, base = _parse_args_json(args_json, shown) if args_json is not None else ([], {})
    kwargs = _collect_keywords(arg_items, signature, shown, base)
    _check_names(signature, positional, kwargs, shown)
    try:
        signature.bind(*positional, **kwargs)
    except TypeError as exc:  # anything the checks above did not phrase better
        raise ArgumentError(f"{exc} for {shown}") from None
    return positional, kwargs
