"""JSON codec for workflow arguments, step results and journal payloads.

The journal holds JSON, never pickle (DESIGN.md, invariant 8): unpickling runs
arbitrary code and ties a months-long run to one Python build. Values JSON cannot
carry become tagged objects, ``{"__pw__": "<tag>", "v": ...}``, and come back typed.

* Dataclasses, pydantic models and enums are named ``"module:QualName"``; decoding
  re-creates the class only if it imports and really is one, and only from its
  fields. Otherwise (e.g. the CLI without the app's code) the field dict comes back.
* Sets are written sorted by JSON text: the same value always gives the same bytes.
* Aware datetimes keep their UTC offset, not the zone name (the instant is kept).
* NaN/Infinity are refused: other JSON readers reject them and ``nan != nan``.
* Tuples (named tuples too) come back as plain tuples. Dict keys must be ``str``.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import importlib
import json
import math
import re
import sys
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast


def _base_model() -> Any:
    """pydantic's ``BaseModel`` if the app has loaded pydantic, else None. Never imported
    here: a pydantic value (or a tag naming a pydantic class, whose module is imported
    to decode it) means pydantic is loaded already, and a worker whose workflows use
    none does not carry it (about 10 MB in every pool process)."""
    module = sys.modules.get("pydantic")
    return getattr(module, "BaseModel", None) if module is not None else None

__all__ = ["MAX_ARGUMENTS_BYTES", "MAX_BYTES", "MAX_DEPTH", "PayloadError", "SerializationError",
           "check_arguments", "check_limits", "decode", "decode_checked", "dumps", "encode",
           "loads", "parse_json"]

TAG = "__pw__"
_HINT = "use plain data, dataclasses, or pydantic models"

#: The limits of every value that crosses the door (a hook payload over HTTP, the CLI's
#: ``--payload``/``--arg``/``--args-json``, a workflow's arguments at ``start``) and of
#: what the worker decodes: one set, so that what the door accepts the worker can always
#: decode (DESIGN.md, "Input at the door"). Depth counts nested JSON arrays and objects
#: of the encoded value (tags included); the worker's recursive decoder stays far below
#: Python's recursion limit at this depth, however deep the worker's own stack is.
MAX_DEPTH = 100
#: Bytes of the compact UTF-8 JSON text of one value (the HTTP endpoint's body limit).
MAX_BYTES = 1024 * 1024
#: Bytes of a workflow's arguments in all (the compact JSON text of each, summed), checked
#: with each one's :data:`MAX_BYTES` by :func:`check_arguments`: a start, a child, a
#: continue-as-new and a schedule's firing all carry them in one message and one event.
MAX_ARGUMENTS_BYTES = 4 * MAX_BYTES
#: The most any one value may weigh when it is encoded (a step's result, a step
#: call's arguments, a workflow's result: values a run's own code makes; a value from
#: outside is held to ``MAX_BYTES`` at its door): counted as :func:`encode` walks it,
#: its text and bytes by length and every item of a list or dict as one, so about its
#: JSON size (checked at each container and at the end: one long string is in memory
#: already, the copy is what is refused).
#: A value over it would reach Redis (whose strings stop at 512 MB) as one event.
MAX_VALUE_BYTES = 16 * MAX_BYTES


class SerializationError(TypeError):
    """A value cannot be written to (or read back from) the journal.

    A ``TypeError``, like ``json.dumps``'s own refusal. ``path`` (``customer.items[2]``)
    and ``argument`` say where: "not serialisable" alone is useless on nested data.
    """

    def __init__(self, message: str, *, path: str | None = None,
                 argument: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.argument = argument


class PayloadError(SerializationError, ValueError):
    """Input from outside that the door refuses: not UTF-8, not JSON, too deep, too big.

    ``reason`` is ``"utf8"``, ``"json"``, ``"depth"`` or ``"size"`` (the HTTP endpoint
    answers 413 for ``size`` and 400 for the others); ``limit`` is the limit that was
    passed, for ``depth`` and ``size``. Nothing has changed when it is raised.
    """

    def __init__(self, message: str, *, reason: str, limit: int | None = None,
                 path: str | None = None) -> None:
        super().__init__(message, path=path)
        self.reason = reason
        self.limit = limit


def _class_ref(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{key!r}]"


def encode(value: Any, *, path: str = "value") -> Any:
    """Convert ``value`` to JSON-compatible data, tagging non-JSON types.

    ``path`` is the name used for the root in error messages (``result``,
    ``customer`` ...). Raises :class:`SerializationError` for anything that
    cannot be carried faithfully, naming where it sits, and :class:`PayloadError`
    (``reason="size"``) for a value over :data:`MAX_VALUE_BYTES`.
    """
    walk = _Walk()
    encoded = _encode(value, path, walk)
    walk.weigh(0, path)  # text counted since the last container's check
    return encoded


class _Walk(set[int]):
    """What :func:`encode` keeps while it walks a value: the containers on the current
    path (``_enter``) and the weight so far (``weigh``)."""

    __slots__ = ("size",)

    def __init__(self) -> None:
        super().__init__()
        self.size = 0

    def weigh(self, size: int, path: str) -> None:
        self.size += size
        if self.size > MAX_VALUE_BYTES:
            raise PayloadError(
                f"value at {path[:60]} makes the whole over {MAX_VALUE_BYTES} bytes; keep "
                "large data elsewhere (a file, an object store) and pass its key",
                reason="size", limit=MAX_VALUE_BYTES, path=path)


def _encode(value: Any, path: str, active: _Walk) -> Any:
    # Order matters: bool is an int, IntEnum/StrEnum are int/str, datetime is a date.
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return {TAG: "enum", "cls": _class_ref(type(value)),
                "v": _encode(value.value, path, active)}
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SerializationError(
                f"value at {path} is the float {value!r}; NaN and Infinity cannot be carried "
                "portably in JSON; use None or a string instead", path=path)
        return float(value)
    if isinstance(value, str):
        active.size += len(value)  # checked at the next container, or at the end
        return str.__str__(value)
    if isinstance(value, dict | list | tuple | set | frozenset):
        return _encode_container(value, path, active)
    scalar = _encode_scalar(value)
    if scalar is not None:
        active.size += len(scalar["v"])
        return scalar
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return _encode_object(value, fields, path, active)
    base_model = _base_model()
    if base_model is not None and isinstance(value, base_model):
        fields = {name: getattr(value, name) for name in type(value).model_fields}
        fields.update(getattr(value, "__pydantic_extra__", None) or {})
        return _encode_object(value, fields, path, active)
    raise SerializationError(
        f"value at {path} of type {type(value).__name__} is not JSON-serialisable; {_HINT}",
        path=path)


_TEXT_TYPES: tuple[tuple[type, str], ...] = (
    (dt.datetime, "datetime"), (dt.date, "date"), (dt.time, "time"),
    (Decimal, "decimal"), (uuid.UUID, "uuid"))


def _encode_scalar(value: Any) -> dict[str, Any] | None:
    """Tag the fixed-format scalar types; None when ``value`` is not one of them."""
    for kind, tag in _TEXT_TYPES:  # datetime before date: a datetime is a date
        if isinstance(value, kind):
            text = value.isoformat() if isinstance(value, dt.date | dt.time) else str(value)
            return {TAG: tag, "v": text}
    if isinstance(value, dt.timedelta):  # exact integers: float seconds would drift
        return {TAG: "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, bytes | bytearray):
        tag = "bytes" if isinstance(value, bytes) else "bytearray"
        return {TAG: tag, "v": base64.b64encode(bytes(value)).decode("ascii")}
    return None


def _enter(value: Any, path: str, active: _Walk) -> None:
    """Track the containers on the current path: a cycle would recurse forever, and a
    path deeper than :data:`MAX_DEPTH` is refused before it exhausts the stack."""
    if id(value) in active:
        raise SerializationError(f"value at {path} contains a reference cycle; {_HINT}",
                                 path=path)
    if len(active) >= MAX_DEPTH:
        raise _too_deep(f"value at {path[:40]}…" if len(path) > 40 else f"value at {path}")
    active.add(id(value))


def _too_deep(what: str) -> PayloadError:
    return PayloadError(f"{what} is nested more than {MAX_DEPTH} levels deep (arrays and "
                        "objects); flatten it", reason="depth", limit=MAX_DEPTH, path=what)


def _too_big(what: str, size: int) -> PayloadError:
    return PayloadError(f"{what} is {size} bytes of JSON, over the limit of {MAX_BYTES}",
                        reason="size", limit=MAX_BYTES)


def _encode_container(value: Any, path: str, active: _Walk) -> Any:
    _enter(value, path, active)
    active.size += len(value)  # an item each (a number, None: no text of its own)
    if active.size > MAX_VALUE_BYTES:
        active.weigh(0, path)
    try:
        if isinstance(value, dict):
            try:
                active.size += sum(map(len, value))  # the keys' text
            except TypeError:  # keys not all str: refused below
                pass
            out: dict[str, Any] = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise SerializationError(
                        f"value at {path} is a dict with a key of type {type(key).__name__} "
                        f"({key!r}); JSON object keys must be str: convert the keys to str "
                        "or use a list of pairs", path=path)
                out[str.__str__(key)] = _encode(item, _child(path, key), active)
            # A user dict that happens to use our tag key is escaped, not misread.
            return {TAG: "dict", "v": out} if TAG in out else out
        items = [_encode(item, f"{path}[{i}]", active) for i, item in enumerate(value)]
        if isinstance(value, list):
            return items
        if isinstance(value, tuple):
            return {TAG: "tuple", "v": items}
        tag = "frozenset" if isinstance(value, frozenset) else "set"
        return {TAG: tag, "v": sorted(items, key=lambda i: json.dumps(i, sort_keys=True))}
    finally:
        active.discard(id(value))


def _encode_object(value: Any, fields: dict[str, Any], path: str,
                   active: _Walk) -> dict[str, Any]:
    _enter(value, path, active)
    try:
        encoded = {name: _encode(item, _child(path, name), active)
                   for name, item in fields.items()}
    finally:
        active.discard(id(value))
    return {TAG: "dataclass", "cls": _class_ref(type(value)), "v": encoded}


def _find_class(ref: str) -> type | None:
    """Import ``module:QualName`` (attribute lookups only); None if not found."""
    module_name, _, qualname = ref.partition(":")
    if not module_name or not qualname or "<" in qualname:
        return None
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError):
        return None
    return obj if isinstance(obj, type) else None


def _decode_object(data: dict[str, Any]) -> Any:
    fields = {name: decode(item) for name, item in _payload(data, dict).items()}
    cls = _find_class(str(data.get("cls", "")))
    try:
        if cls is not None and dataclasses.is_dataclass(cls):
            init = {f.name for f in dataclasses.fields(cls) if f.init}
            obj = cls(**{k: v for k, v in fields.items() if k in init})
            for name, item in fields.items():
                if name not in init:  # init=False fields: restore the recorded value
                    object.__setattr__(obj, name, item)
            return obj
        base_model = _base_model()
        if cls is not None and base_model is not None and issubclass(cls, base_model):
            return cast(Any, cls).model_validate(fields)
    except Exception as exc:  # the class changed shape since the value was recorded
        raise SerializationError(
            f"cannot rebuild {data['cls']} from its recorded fields {sorted(fields)}: "
            f"{type(exc).__name__}: {exc}") from exc
    return fields


def _decode_enum(data: dict[str, Any]) -> Any:
    raw = decode(data.get("v"))
    cls = _find_class(str(data.get("cls", "")))
    if cls is None or not issubclass(cls, enum.Enum):
        return raw
    try:
        return cls(raw)
    except ValueError as exc:
        raise SerializationError(f"{data['cls']} has no member with value {raw!r}") from exc


def _payload(data: dict[str, Any], kind: type) -> Any:
    if not isinstance(value := data.get("v"), kind):
        raise TypeError(f"'v' should be a {kind.__name__}")
    return value


def _b64(data: dict[str, Any]) -> bytes:
    return base64.b64decode(_payload(data, str), validate=True)


_DECODERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "dict": lambda d: {k: decode(v) for k, v in _payload(d, dict).items()},
    "tuple": lambda d: tuple(decode(v) for v in _payload(d, list)),
    "set": lambda d: {decode(v) for v in _payload(d, list)},
    "frozenset": lambda d: frozenset(decode(v) for v in _payload(d, list)),
    "datetime": lambda d: dt.datetime.fromisoformat(_payload(d, str)),
    "date": lambda d: dt.date.fromisoformat(_payload(d, str)),
    "time": lambda d: dt.time.fromisoformat(_payload(d, str)),
    "timedelta": lambda d: dt.timedelta(*_payload(d, list)),
    "decimal": lambda d: Decimal(_payload(d, str)),
    "uuid": lambda d: uuid.UUID(_payload(d, str)),
    "bytes": _b64,
    "bytearray": lambda d: bytearray(_b64(d)),
    "dataclass": _decode_object,
    "enum": _decode_enum,
}


def decode(data: Any) -> Any:
    """Inverse of :func:`encode`: rebuild Python values from JSON-compatible data."""
    if isinstance(data, list):
        return [decode(item) for item in data]
    if not isinstance(data, dict):
        return data
    if TAG not in data:
        return {key: decode(item) for key, item in data.items()}
    decoder = _DECODERS.get(data[TAG]) if isinstance(data[TAG], str) else None
    if decoder is None:
        raise SerializationError(f"unknown {TAG} tag {data[TAG]!r} in recorded data; "
                                 "was it written by a newer pyworkflow?")
    try:
        return decoder(data)
    except SerializationError:
        raise
    except (TypeError, ValueError, ArithmeticError) as exc:  # Decimal raises the latter
        raise SerializationError(f"malformed {data[TAG]!r} value in recorded data "
                                 f"{data!r}: {exc}") from exc


def decode_checked(data: Any, what: str = "value") -> Any:
    """:func:`decode` after :func:`check_limits`: how a worker reads what came from outside.

    Raises :class:`PayloadError` (never ``RecursionError``) for data over the limits.
    """
    check_limits(data, what)
    return decode(data)


# A JSON string literal (escapes included), and the structural characters outside them.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _text_depth_exceeds(text: str, limit: int) -> bool:
    """Whether JSON ``text`` nests arrays/objects deeper than ``limit``, without parsing.

    Iterative, so 100 000 levels cost a scan, not a ``RecursionError`` (which
    ``json.loads`` raises past ~1 000 levels, and the recursive decoder far earlier).
    """
    depth = 0
    for char in _NOT_BRACKET.sub("", _JSON_STRING.sub("", text)):
        depth = depth + 1 if char in "[{" else depth - 1
        if depth > limit:
            return True
    return False


def _refuse_constant(text: str) -> Any:
    raise ValueError(f"{text} is not allowed (the journal cannot hold it)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: json reads it as inf, which the journal refuses
        raise ValueError(f"{text} is out of range for a float")
    return value


def parse_json(text: str | bytes, what: str = "payload") -> Any:
    """The one checked JSON reader for input from outside (HTTP bodies, CLI options).

    Refuses, with a :class:`PayloadError` naming ``what``: bytes that are not UTF-8 (or
    a ``str`` holding undecodable bytes, as a shell argument can), text over
    :data:`MAX_BYTES`, nesting over :data:`MAX_DEPTH`, anything ``json`` cannot parse,
    and ``NaN``/``Infinity`` (``1e999`` too). Returns plain JSON data (tags are not
    interpreted).
    """
    if isinstance(text, bytes | bytearray):
        size = len(text)
        if size > MAX_BYTES:
            raise _too_big(what, size)
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PayloadError(f"{what} is not valid UTF-8 (byte {exc.start})",
                               reason="utf8") from None
    else:
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise PayloadError(f"{what} is not valid UTF-8 (character {exc.start})",
                               reason="utf8") from None
        if size > MAX_BYTES:
            raise _too_big(what, size)
    if _text_depth_exceeds(text, MAX_DEPTH):
        raise _too_deep(what)
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except ValueError as exc:
        raise PayloadError(f"{what} is not valid JSON ({exc})", reason="json") from None


def check_limits(data: Any, what: str = "value") -> None:
    """Refuse JSON-compatible ``data`` nested deeper than :data:`MAX_DEPTH` or whose
    compact JSON text is over :data:`MAX_BYTES`. Iterative: never a ``RecursionError``."""
    _checked_size(data, what)


def _checked_size(data: Any, what: str) -> int:
    """:func:`check_limits`, giving the size of ``data``'s compact JSON text in bytes."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise _too_deep(what)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    try:
        size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    except UnicodeEncodeError:
        raise PayloadError(f"{what} holds text that is not valid UTF-8",
                           reason="utf8") from None
    if size > MAX_BYTES:
        raise _too_big(what, size)
    return size


def dumps(value: Any) -> str:
    """Encode ``value`` and write it as compact JSON text."""
    return json.dumps(encode(value), separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def loads(text: str | bytes) -> Any:
    """Parse JSON text written by :func:`dumps` and decode it."""
    return decode(json.loads(text))


def check_arguments(args: tuple[Any, ...], kwargs: dict[str, Any],
                    names: list[str] | None = None) -> tuple[list[Any], dict[str, Any]]:
    """Encode a workflow's arguments, refusing bad ones at ``start`` by name.

    ``names`` are the positional parameter names (from the workflow signature) so
    the error can say ``argument 'customer'`` rather than ``argument #0``.
    """
    total = [0]
    named = [(names[i] if names and i < len(names) else None, v) for i, v in enumerate(args)]
    return ([_encode_argument(v, name, f"#{i}", f"args[{i}]", total)
             for i, (name, v) in enumerate(named)],
            {key: _encode_argument(v, key, key, key, total) for key, v in kwargs.items()})


def _encode_argument(value: Any, name: str | None, fallback: str, root: str,
                     total: list[int]) -> Any:
    """One argument, encoded and checked; ``total`` counts the bytes of all so far, and
    the argument that brings them past :data:`MAX_ARGUMENTS_BYTES` is refused (before
    the next ones are encoded)."""
    try:
        encoded = encode(value, path=name or root)
        total[0] += _checked_size(encoded, name or root)
    except PayloadError as exc:
        label = repr(name) if name else fallback
        refused = PayloadError(f"argument {label}: {exc}", reason=exc.reason, limit=exc.limit,
                               path=exc.path)
        refused.argument = name or fallback
        raise refused from None
    except SerializationError as exc:
        label = repr(name) if name else fallback
        raise SerializationError(f"argument {label}: {exc}", path=exc.path,
                                 argument=name or fallback) from None
    if total[0] > MAX_ARGUMENTS_BYTES:
        label = repr(name) if name else fallback
        refused = PayloadError(
            f"a workflow's arguments are at most {MAX_ARGUMENTS_BYTES} bytes of JSON in "
            f"all, and with argument {label} they are {total[0]} (pass a reference, such "
            "as a key or a URL, to large data)", reason="size", limit=MAX_ARGUMENTS_BYTES)
        refused.argument = name or fallback
        raise refused
    return encoded
