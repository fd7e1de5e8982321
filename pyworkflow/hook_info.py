"""What an app sees of a hook: ``HookInfo``, decoded from the hook's record, and the
payload a typed hook takes. Pure, no I/O.

Apart from :mod:`pyworkflow.worker.hook_store` (which reads and writes the record in Redis)
so that the pure modules (hook errors, the engine) can name the type without
importing anything that reaches Redis.

Why a typed hook's record carries its model's JSON Schema: a payload is delivered by
processes that may not import the app's code at all (``hooks resume`` without
``--module``, ``hooks serve``, the dashboard), and a payload that only the worker
checks fails late, inside the run. With the schema stored when the run starts waiting
(by the engine, which has the model), every door checks a payload the same way
before it claims the hook (:func:`schema_problems`), and ``hooks info`` can show a
payload that fits (:func:`example_payload`). A schema over :data:`MAX_SCHEMA_BYTES` is
not stored: such a hook's payload is checked only where the model is importable (a
door given the module, and always the worker), so the record stays small.

Problems are reported as plain dicts (``loc``, ``msg``, ``type``), in pydantic's
words where they mean the same, and are written from the schema and the payload's
shape only (field names, expected types and bounds), never from the values sent: a
refusal can be shown or logged as it is.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass
from typing import Any

#: The largest JSON Schema (compact JSON, in bytes) a hook's record carries.
MAX_SCHEMA_BYTES = 64 * 1024
#: At most this many problems are reported for one payload (the first, by field path).
MAX_PROBLEMS = 20
#: How deep ``example_payload`` follows nested models before it puts ``{}``.
_EXAMPLE_DEPTH = 6


@dataclass
class HookInfo:
    token: str
    name: str
    run_id: str
    call_id: int
    status: str
    expires_at: float | None
    created_at: float
    #: Whether the hook was awaited through ``define_hook``, with a model.
    typed: bool = False
    #: The model's JSON Schema, as recorded with the hook (None: untyped, or too large).
    payload_schema: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Everything but the schema, which can be large: ``hooks info`` adds it."""
        return {k: v for k, v in self.__dict__.items() if k != "payload_schema"}


def hook_info_from_record(token: str, raw: dict[bytes, bytes],
                          now: float | None = None) -> HookInfo | None:
    """A hook's record as read from its hash (None when the hash is gone). A pending
    hook whose expiry has passed shows as ``expired``, as a delivery would find it."""
    if not raw:
        return None
    f = {k.decode(): v.decode() for k, v in raw.items()}
    expires = f.get("expires_at_ms")
    status = f["status"]
    now = time.time() if now is None else now
    if status == "pending" and expires and int(expires) <= now * 1000:
        status = "expired"
    return HookInfo(token, f["name"], f["run_id"], int(f["call_id"]), status,
                    int(expires) / 1000 if expires else None, float(f["created_at"]),
                    typed=f.get("typed") == "1", payload_schema=parse_schema(f.get("schema")))


# -- a typed hook's payload -----------------------------------------------------------------

@functools.lru_cache(maxsize=256)
def schema_of(model: Any) -> str | None:
    """The model's JSON Schema as compact JSON text, or None when it has none (not a
    pydantic model, a type pydantic cannot describe) or it is over ``MAX_SCHEMA_BYTES``."""
    make = getattr(model, "model_json_schema", None)
    if make is None:
        return None
    try:
        text = json.dumps(make(), separators=(",", ":"), ensure_ascii=False)  # field order kept
    except Exception:  # a model pydantic cannot describe: checked only where importable
        return None
    return text if len(text.encode()) <= MAX_SCHEMA_BYTES else None


def parse_schema(text: str | None) -> dict[str, Any] | None:
    """A stored schema, or None when there is none or it does not read as an object."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def plain_problems(raw: Any) -> list[dict[str, Any]]:
    """Validation errors (pydantic's, or already plain) as ``loc``/``msg``/``type`` only.

    Pydantic's error dicts also carry the offending ``input`` and a ``ctx``; those are
    dropped so a refusal never repeats the payload and always serialises.
    """
    if not isinstance(raw, list | tuple):
        return [{"loc": [], "msg": str(raw), "type": "invalid"}]
    shown: list[dict[str, Any]] = []
    for item in raw[:MAX_PROBLEMS]:
        if not isinstance(item, dict):
            shown.append({"loc": [], "msg": str(item), "type": "invalid"})
            continue
        shown.append({"loc": [p if isinstance(p, int) else str(p) for p in item.get("loc", ())],
                      "msg": str(item.get("msg", "")), "type": str(item.get("type", "invalid"))})
    return shown


def model_problems(model: Any, payload: Any) -> tuple[Any, list[dict[str, Any]]]:
    """``(instance, [])`` when ``payload`` fits ``model``, else ``(None, problems)``.

    Any exception from the model's validation is a refusal (a custom validator that
    raises something pydantic does not wrap included): a payload never gets past a
    model that could not say yes to it.
    """
    try:
        return model.model_validate(payload), []
    except Exception as exc:
        errors = getattr(exc, "errors", None)
        if callable(errors):
            try:
                problems = plain_problems(errors())
            except Exception:  # its errors() failed too: say what it was, below
                problems = []
            if problems:
                return None, problems
        return None, [{"loc": [], "msg": f"refused by the model ({type(exc).__name__})",
                       "type": "invalid"}]


def schema_problems(schema: dict[str, Any], payload: Any) -> list[dict[str, Any]]:
    """What in ``payload`` does not fit ``schema`` (JSON Schema 2020-12, as pydantic
    writes it); ``[]`` when it fits, or when the schema itself cannot be used (the
    worker's model still decides then)."""
    from jsonschema import Draft202012Validator

    try:
        Draft202012Validator.check_schema(schema)
        found = list(Draft202012Validator(schema).iter_errors(payload))
    except Exception:  # an invalid schema, a $ref to nowhere: a record the door cannot use
        return []
    problems = [problem for error in found for problem in _described(error)]
    fields = schema.get("properties")
    order = {name: i for i, name in enumerate(fields)} if isinstance(fields, dict) else {}

    def position(problem: dict[str, Any]) -> tuple[int, list[str]]:
        """The model's field order first (as pydantic reports), then the path."""
        loc = problem["loc"]
        return (order.get(loc[0], len(order)) if loc else -1, [str(p) for p in loc])

    return sorted(problems, key=position)[:MAX_PROBLEMS]


_TYPE_WORDS = {"object": "a valid object", "array": "a valid list", "string": "a valid string",
               "integer": "a valid integer", "number": "a valid number",
               "boolean": "a valid boolean", "null": "null"}
_BOUNDS = {
    "minimum": "Input should be greater than or equal to {}",
    "exclusiveMinimum": "Input should be greater than {}",
    "maximum": "Input should be less than or equal to {}",
    "exclusiveMaximum": "Input should be less than {}",
    "minLength": "String should have at least {} characters",
    "maxLength": "String should have at most {} characters",
    "minItems": "List should have at least {} items",
    "maxItems": "List should have at most {} items",
    "minProperties": "Object should have at least {} fields",
    "maxProperties": "Object should have at most {} fields",
    "multipleOf": "Input should be a multiple of {}",
    "pattern": "String should match pattern {!r}",
}


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _types_of(schema: Any) -> list[str] | None:
    """The JSON types a (sub)schema allows, when it says no more than that."""
    if not isinstance(schema, dict):
        return None
    if set(schema) - {"type", "title", "description", "default"}:
        return None
    kind = schema.get("type")
    return [kind] if isinstance(kind, str) else None


def _described(error: Any) -> list[dict[str, Any]]:
    """One jsonschema error in words built from the schema, never from the payload."""
    loc: list[Any] = list(error.absolute_path)
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    if keyword == "required":
        missing = [f for f in expected if isinstance(instance, dict) and f not in instance
                   and error.message.startswith(repr(f))]
        return [{"loc": loc + missing[:1], "msg": "Field required", "type": "missing"}]
    if keyword == "additionalProperties" and isinstance(instance, dict):
        known = error.schema.get("properties", {})
        extra = [k for k in instance if k not in known] or [""]
        return [{"loc": loc + [k], "msg": "Extra inputs are not permitted",
                 "type": "extra_forbidden"} for k in extra]
    if keyword == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        words = " or ".join(_TYPE_WORDS.get(k, str(k)) for k in kinds)
        return [{"loc": loc, "msg": f"Input should be {words}", "type": "type"}]
    if keyword in ("anyOf", "oneOf"):
        options = [_types_of(option) for option in expected]
        if all(options):
            words = " or ".join(_TYPE_WORDS.get(k, k) for o in options for k in o or ())
            return [{"loc": loc, "msg": f"Input should be {words}", "type": "type"}]
        return [{"loc": loc, "msg": "Input does not match any of the allowed forms",
                 "type": keyword}]
    if keyword == "enum":
        return [{"loc": loc, "msg": "Input should be " + " or ".join(
            _short(v) for v in expected[:10]), "type": "enum"}]
    if keyword == "const":
        return [{"loc": loc, "msg": f"Input should be {_short(expected)}", "type": "const"}]
    if keyword in _BOUNDS:
        return [{"loc": loc, "msg": _BOUNDS[keyword].format(expected), "type": keyword}]
    return [{"loc": loc, "msg": f"Input does not satisfy {keyword} {_short(expected)}",
             "type": str(keyword)}]


def example_payload(schema: dict[str, Any]) -> Any:
    """A payload shaped like ``schema``: each required field with a placeholder of its
    type (``"<name>"`` for text, ``0``, ``true``, ``[]``), nested models filled in the
    same way. What ``hooks info`` suggests; it fits the schema's shape, and its
    placeholders are meant to be replaced."""
    defs = schema.get("$defs", {}) if isinstance(schema.get("$defs"), dict) else {}
    return _example(schema, "value", defs, 0)


def _example(node: Any, name: str, defs: dict[str, Any], depth: int) -> Any:
    if not isinstance(node, dict):
        return None
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        if depth >= _EXAMPLE_DEPTH:
            return {}
        return _example(defs.get(ref.removeprefix("#/$defs/")), name, defs, depth + 1)
    if "const" in node:
        return node["const"]
    if isinstance(node.get("enum"), list) and node["enum"]:
        return node["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = node.get(key)
        if isinstance(options, list) and options:
            useful = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            return _example((useful or options)[0], name, defs, depth)
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in node):
        if depth >= _EXAMPLE_DEPTH:
            return {}
        props = node.get("properties", {}) if isinstance(node.get("properties"), dict) else {}
        return {field: _example(props.get(field, {}), field, defs, depth + 1)
                for field in node.get("required", []) if isinstance(field, str)}
    if kind == "array":
        return []
    if kind == "string":
        return _FORMATS.get(str(node.get("format")), f"<{name}>")
    if kind in ("integer", "number"):  # the least value the bounds allow, else 0
        low = node.get("minimum")
        above = node.get("exclusiveMinimum")
        if isinstance(low, int | float):
            return low
        return above + 1 if isinstance(above, int | float) else 0
    if kind == "boolean":
        return True
    return None


_FORMATS = {"date-time": "2030-01-01T00:00:00Z", "date": "2030-01-01", "time": "00:00:00",
            "email": "user@example.com", "uuid": "00000000-0000-0000-0000-000000000000",
            "uri": "https://example.com/"}
