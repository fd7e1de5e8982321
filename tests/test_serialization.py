"""Unit tests for the JSON codec (no Redis needed)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import socket
import uuid
from decimal import Decimal
from typing import Any

import pytest

try:  # optional, like in the codec itself
    import pydantic
except ImportError:  # pragma: no cover - depends on the environment
    pydantic = None

from pyworkflow.serialization import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_VALUE_BYTES,
    PayloadError,
    SerializationError,
    check_arguments,
    check_limits,
    decode,
    decode_checked,
    dumps,
    encode,
    loads,
    parse_json,
)


class Color(enum.Enum):
    RED = "red"
    BLUE = (0, 0, 255)  # a value JSON has no type for: encoded recursively


class Level(enum.IntEnum):
    LOW = 1


class Mode(enum.StrEnum):
    FAST = "fast"


@dataclasses.dataclass
class Item:
    sku: str
    qty: int = 1


@dataclasses.dataclass(frozen=True)
class Order:
    id: uuid.UUID
    items: list[Item]
    placed: dt.datetime
    total: Decimal
    tags: frozenset[str] = frozenset()
    computed: str = dataclasses.field(init=False, default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "computed", f"{len(self.items)} items")


class Outer:
    @dataclasses.dataclass
    class Inner:
        x: int


if pydantic is not None:
    class Address(pydantic.BaseModel):
        city: str

    class Customer(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="allow")
        name: str
        since: dt.date
        address: Address


class NotADataclass:
    def __init__(self, **kw: Any) -> None:
        raise AssertionError("must never be constructed by the decoder")


def assert_same(a: Any, b: Any) -> None:
    """Equal *and* of the same types all the way down (1 == 1.0 == True would lie)."""
    assert type(a) is type(b), (a, b)
    assert a == b
    if isinstance(a, dict):
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, list | tuple):
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)


ORDER = Order(id=uuid.UUID(int=7), items=[Item("a"), Item("b", 3)],
              placed=dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC), total=Decimal("19.90"),
              tags=frozenset({"x", "y"}))

ROUND_TRIPS = [
    None, True, False, 0, -5, 2**80, 1.5, -0.0, "", "héllo ✓", [], {}, [1, [2, [3]]],
    {"a": {"b": [1, "c", None]}},
    dt.datetime(2024, 1, 2, 3, 4, 5, 678901),
    dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    dt.date(1999, 12, 31), dt.time(23, 59, 1, 5), dt.time(8, 0, tzinfo=dt.UTC),
    dt.timedelta(days=-1, seconds=5, microseconds=7), dt.timedelta(weeks=300),
    Decimal("19.90"), Decimal("-1E+5"), Decimal("0.1"),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    b"", b"\x00\xffbinary", bytearray(b"mutable"),
    {1, 2, 3}, frozenset({"a"}), set(), (), (1, ("nested", 2.5)), ((1, 2),),
    Color.RED, Color.BLUE, Level.LOW, Mode.FAST,
    Item("sku-1"), ORDER, Outer.Inner(3),
    {"orders": [ORDER, {"item": Item("z", 9)}]},
    {"__pw__": "datetime", "v": "not a datetime"},
    [{"__pw__": 1, "nested": {"__pw__": {"__pw__": None}}}],
]


@pytest.mark.parametrize("value", ROUND_TRIPS, ids=lambda v: type(v).__name__)
def test_round_trip(value: Any) -> None:
    assert_same(decode(encode(value)), value)
    text = dumps(value)
    assert_same(loads(text), value)
    assert_same(loads(text.encode()), value)
    json.loads(text)  # plain JSON any reader can parse


def test_dataclass_in_list_in_dict_keeps_types() -> None:
    back = loads(dumps({"orders": [ORDER]}))
    order = back["orders"][0]
    assert type(order) is Order and type(order.items[0]) is Item
    assert order.computed == "2 items" and order.tags == frozenset({"x", "y"})
    assert order.placed.tzinfo is not None and type(order.total) is Decimal


def test_tagged_forms_are_readable() -> None:
    assert encode(dt.date(2024, 1, 2)) == {"__pw__": "date", "v": "2024-01-02"}
    assert encode(b"hi") == {"__pw__": "bytes", "v": "aGk="}
    assert encode((1,)) == {"__pw__": "tuple", "v": [1]}
    assert encode(Item("a")) == {"__pw__": "dataclass",
                                 "cls": "tests.test_serialization:Item",
                                 "v": {"sku": "a", "qty": 1}}
    assert encode(Color.RED) == {"__pw__": "enum", "cls": "tests.test_serialization:Color",
                                 "v": "red"}
    assert encode({"__pw__": 1}) == {"__pw__": "dict", "v": {"__pw__": 1}}


def test_dumps_is_compact_and_sets_are_stable() -> None:
    assert dumps({"a": [1, 2]}) == '{"a":[1,2]}'
    assert dumps({3, 1, 2}) == dumps({2, 3, 1}) == '{"__pw__":"set","v":[1,2,3]}'
    assert dumps({"b", (1, 2), 3}) == dumps({3, (1, 2), "b"})


def test_refuses_unknown_types_naming_argument_and_path() -> None:
    with socket.socket() as sock:
        with pytest.raises(SerializationError) as info:
            check_arguments(({"items": [1, 2, sock]},), {}, names=["customer"])
    assert str(info.value) == (
        "argument 'customer': value at customer.items[2] of type socket is not "
        "JSON-serialisable; use plain data, dataclasses, or pydantic models")
    assert info.value.argument == "customer" and info.value.path == "customer.items[2]"
    assert isinstance(info.value, TypeError)


def test_refusal_without_names_uses_position_and_kwargs_use_their_name() -> None:
    with pytest.raises(SerializationError, match=r"^argument #1: value at args\[1\] of type"):
        check_arguments((1, object()), {})
    with pytest.raises(SerializationError, match=r"^argument #2: value at args\[2\]\.x "):
        check_arguments((1, 2, Outer.Inner(object())), {}, names=["a", "b"])  # type: ignore[arg-type]
    with pytest.raises(SerializationError, match=r"^argument 'when': value at when\['a b'\]"):
        check_arguments((), {"when": {"a b": object()}})


def test_check_arguments_returns_encoded_data() -> None:
    args, kwargs = check_arguments((dt.date(2024, 1, 1), [1]), {"k": {2}}, names=["d", "l"])
    assert args == [{"__pw__": "date", "v": "2024-01-01"}, [1]]
    assert kwargs == {"k": {"__pw__": "set", "v": [2]}}
    json.dumps([args, kwargs])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_refuses_nan_and_infinity(bad: float) -> None:
    with pytest.raises(SerializationError, match="NaN and Infinity cannot be carried") as info:
        encode({"rates": [1.0, bad]})
    assert "value at value.rates[1]" in str(info.value)
    with pytest.raises(SerializationError, match=r"argument 'x': value at x\.qty is the float"):
        check_arguments((), {"x": Item("a", bad)})  # type: ignore[arg-type]


def test_refuses_non_str_keys() -> None:
    expected = r"value at result\.m is a dict with a key of type int \(1\); JSON object keys"
    with pytest.raises(SerializationError, match=expected):
        encode({"m": {1: "x"}}, path="result")
    with pytest.raises(SerializationError, match="key of type tuple"):
        dumps({(1, 2): 3})


def test_str_enum_keys_become_plain_str() -> None:
    assert_same(loads(dumps({Mode.FAST: 1})), {"fast": 1})


def test_refuses_reference_cycles() -> None:
    loop: list[Any] = [1]
    loop.append({"again": loop})
    with pytest.raises(SerializationError, match=r"value at value\[1\]\.again contains a "
                                                 "reference cycle"):
        encode(loop)
    shared = [1]
    assert decode(encode([shared, shared])) == [[1], [1]]  # sharing is not a cycle


def test_unimportable_or_foreign_classes_decode_to_field_dicts() -> None:
    fields = {"a": 1, "when": {"__pw__": "date", "v": "2024-01-02"}}
    for ref in ["nowhere.module:Thing", "tests.test_serialization:Missing",
                "tests.test_serialization:NotADataclass", "os:system", "builtins:dict",
                "tests.test_serialization:f.<locals>.X", "no-colon", ":Item", "tests:"]:
        data = {"__pw__": "dataclass", "cls": ref, "v": fields}
        assert decode(data) == {"a": 1, "when": dt.date(2024, 1, 2)}, ref


def test_local_dataclass_round_trips_as_fields() -> None:
    @dataclasses.dataclass
    class Local:
        x: int

    assert loads(dumps(Local(1))) == {"x": 1}


def test_enum_fallbacks() -> None:
    assert decode({"__pw__": "enum", "cls": "nowhere:E", "v": "red"}) == "red"
    assert decode({"__pw__": "enum", "cls": "tests.test_serialization:Item", "v": 2}) == 2
    with pytest.raises(SerializationError, match="has no member with value 'green'"):
        decode({"__pw__": "enum", "cls": "tests.test_serialization:Color", "v": "green"})


def test_changed_dataclass_shape_is_a_clear_error() -> None:
    data = {"__pw__": "dataclass", "cls": "tests.test_serialization:Item", "v": {"qty": 2}}
    with pytest.raises(SerializationError, match=r"cannot rebuild tests\.test_serialization:"
                                                 r"Item from its recorded fields \['qty'\]"):
        decode(data)


@pytest.mark.parametrize("data", [
    {"__pw__": "pickle", "v": "gASV"},
    {"__pw__": 5, "v": 1},
    {"__pw__": "datetime", "v": "yesterday"},
    {"__pw__": "datetime", "v": 5},
    {"__pw__": "timedelta", "v": ["a"]},
    {"__pw__": "bytes", "v": "%%%"},
    {"__pw__": "uuid", "v": "nope"},
    {"__pw__": "decimal", "v": "one"},
    {"__pw__": "tuple", "v": {"a": 1}},
    {"__pw__": "dict"},
])
def test_malformed_or_unknown_tags_raise(data: dict[str, Any]) -> None:
    with pytest.raises(SerializationError):
        decode(data)


def test_plain_json_passes_through_decode() -> None:
    data = {"a": [1, 2.5, "x", None, True], "b": {}}
    assert_same(decode(data), data)


@pytest.mark.skipif(pydantic is None, reason="pydantic is optional and not installed")
def test_pydantic_models_round_trip() -> None:
    value = Customer(name="Ada", since=dt.date(2020, 1, 1), address=Address(city="Oslo"),
                     vip=True)
    back = loads(dumps({"c": [value]}))["c"][0]
    assert type(back) is Customer and type(back.address) is Address
    assert back == value and back.model_extra == {"vip": True}
    data = encode(value)
    assert data["__pw__"] == "dataclass" and data["cls"] == "tests.test_serialization:Customer"
    assert data["v"]["since"] == {"__pw__": "date", "v": "2020-01-01"}
    data["v"]["since"] = "not a date"
    with pytest.raises(SerializationError, match="cannot rebuild .*Customer"):
        decode(data)


# -- the limits every payload from outside meets (DESIGN.md, "Input at the door") --------

def _nested(levels: int) -> Any:
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 600, 100_000])
def test_parse_json_refuses_deep_nesting_without_recursion(levels: int) -> None:
    with pytest.raises(PayloadError) as refused:
        parse_json("[" * levels + "]" * levels)
    assert refused.value.reason == "depth" and refused.value.limit == MAX_DEPTH
    assert f"more than {MAX_DEPTH} levels" in str(refused.value)


def test_what_parse_json_accepts_the_worker_decodes() -> None:
    deepest = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    data = parse_json(deepest)
    assert decode_checked(encode(data)) == data == _nested(MAX_DEPTH)
    # Brackets inside strings are text, not nesting.
    assert parse_json(json.dumps({"a": "[" * 1000, "b": '\\"]{' * 500})) == {
        "a": "[" * 1000, "b": '\\"]{' * 500}


def test_parse_json_refuses_size_utf8_and_constants() -> None:
    with pytest.raises(PayloadError) as too_big:
        parse_json(b'"' + b"x" * MAX_BYTES + b'"')
    assert too_big.value.reason == "size" and too_big.value.limit == MAX_BYTES
    for bad in (b"\xff\xfe", "caf\udce9"):  # raw bytes, and argv's surrogate escapes
        with pytest.raises(PayloadError) as not_utf8:
            parse_json(bad)
        assert not_utf8.value.reason == "utf8" and "UTF-8" in str(not_utf8.value)
    for bad_json in ("NaN", '{"x": Infinity}', "{"):
        with pytest.raises(PayloadError) as not_json:
            parse_json(bad_json)
        assert not_json.value.reason == "json"


def test_deep_arguments_are_refused_at_start_by_name() -> None:
    with pytest.raises(PayloadError) as refused:
        check_arguments((), {"tree": _nested(600)})
    assert refused.value.reason == "depth" and refused.value.argument == "tree"
    assert str(refused.value).startswith("argument 'tree': ")
    check_arguments((_nested(MAX_DEPTH - 1),), {})  # the deepest accepted, with its list


def test_decode_checked_refuses_what_the_door_would_have() -> None:
    with pytest.raises(PayloadError):
        decode_checked(_nested(MAX_DEPTH + 1))
    with pytest.raises(PayloadError):
        check_limits("x" * MAX_BYTES)


@pytest.mark.parametrize("value", [
    "x" * (MAX_VALUE_BYTES + 1),  # one string
    ["y" * 1024] * (MAX_VALUE_BYTES // 1024 + 1),  # many
    {f"k{i}": None for i in range(MAX_VALUE_BYTES // 4)},  # keys and items only
    b"z" * (MAX_VALUE_BYTES // 4 * 3 + 3),  # bytes, as base64
])
def test_a_value_over_the_value_bound_is_refused_by_size(value: Any) -> None:
    with pytest.raises(PayloadError) as err:
        encode(value, path="result")
    assert err.value.reason == "size" and err.value.limit == MAX_VALUE_BYTES
    assert str(MAX_VALUE_BYTES) in str(err.value)


def test_a_value_under_the_value_bound_is_encoded_whole() -> None:
    big = ["y" * 1024] * (MAX_VALUE_BYTES // 1024 - 16)
    assert encode(big) == big
