"""Unit tests for duration parsing, deadlines and formatting (no Redis needed)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pyworkflow.durations import (
    ACCEPTED_FORMS,
    deadline_ms,
    format_duration,
    parse_duration,
)


@pytest.mark.parametrize(("value", "seconds"), [
    (0, 0.0), (30, 30.0), (1.5, 1.5), (Decimal("2.25"), 2.25),
    (dt.timedelta(minutes=2, microseconds=500), 120.0005), (dt.timedelta(0), 0.0),
    ("30s", 30.0), ("5m", 300.0), ("1h30m", 5400.0), ("1.5h", 5400.0), ("2d", 172800.0),
    ("500ms", 0.5), ("1w", 604800.0), ("1h 30m", 5400.0), ("90", 90.0), ("0", 0.0),
    ("2.5", 2.5), ("  45s \n", 45.0), ("1H30M", 5400.0), ("500MS", 0.5), ("1 h", 3600.0),
    ("1d2h3m4s5ms", 93784.005), ("1m 500ms", 60.5), (".5s", 0.5), ("3.m", 180.0),
    ("0s", 0.0), ("1s 1s", 2.0),
])
def test_accepted_forms(value: Any, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds, abs=1e-9)
    assert isinstance(parse_duration(value), float)


@pytest.mark.parametrize("text", [
    "", "   ", "s", "abc", "5x", "5 sec", "5mins", "1h-30m", "1e3s", "nan", "inf",
    "5 5s", "1,5h", "1..5s", "1.5.2s", "h1", "30s!", "١s", "1h30", "+5s", "0x10",
])
def test_malformed_strings_list_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="is not a valid duration") as info:
        parse_duration(text)
    assert ACCEPTED_FORMS in str(info.value) and "'1h30m'" in str(info.value)


@pytest.mark.parametrize("value", [-1, -0.001, "-5s", " -1h", "-90",
                                   dt.timedelta(seconds=-1), Decimal("-2")])
def test_negative_values_are_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="is negative; a duration must be >= 0; accepted forms"):
        parse_duration(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN"),
                                   Decimal("sNaN"), Decimal("Infinity")])
def test_non_finite_numbers_are_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="not a finite number of seconds"):
        parse_duration(value)


@pytest.mark.parametrize("value", [None, True, [5], b"5s", dt.date(2024, 1, 1)])
def test_wrong_types_raise_type_error(value: Any) -> None:
    with pytest.raises(TypeError, match="accepted forms"):
        parse_duration(value)


def test_datetime_is_not_a_duration() -> None:
    with pytest.raises(TypeError, match="point in time, not a duration; use deadline_ms"):
        parse_duration(dt.datetime(2024, 1, 1))  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "expected"), [
    ("30s", 1_030_000), (0, 1_000_000), ("500ms", 1_000_500), (dt.timedelta(hours=1), 4_600_000),
    (0.3, 1_000_300), ("0.3s", 1_000_300), (0.1 + 0.2, 1_000_301),  # 0.30000000000000004
    (0.0001, 1_000_001), ("1.0001s", 1_001_001), (dt.timedelta(microseconds=1), 1_000_001),
    (Decimal("0.0000001"), 1_000_001), ("1h 30m", 1_000_000 + 5_400_000),
])
def test_deadline_for_durations_rounds_up(value: Any, expected: int) -> None:
    assert deadline_ms(value, 1_000_000) == expected


def test_deadline_for_aware_datetime_is_its_epoch_ms() -> None:
    when = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert deadline_ms(when, 0) == int(when.timestamp()) * 1000
    plus_two = dt.datetime(2030, 1, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert deadline_ms(plus_two, 0) == deadline_ms(when, 0)
    oslo = dt.datetime(2030, 7, 1, 12, tzinfo=ZoneInfo("Europe/Oslo"))  # summer: UTC+2
    assert deadline_ms(oslo, 0) == deadline_ms(dt.datetime(2030, 7, 1, 10, tzinfo=dt.UTC), 0)


def test_deadline_for_datetime_rounds_sub_millisecond_up() -> None:
    base = deadline_ms(dt.datetime(2030, 1, 1, tzinfo=dt.UTC), 0)
    assert deadline_ms(dt.datetime(2030, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC), 0) == base + 1
    assert deadline_ms(dt.datetime(2030, 1, 1, 0, 0, 0, 1000, tzinfo=dt.UTC), 0) == base + 1
    assert deadline_ms(dt.datetime(2030, 1, 1, 0, 0, 0, 1001, tzinfo=dt.UTC), 0) == base + 2


def test_naive_datetime_is_taken_as_utc() -> None:
    naive = dt.datetime(2030, 1, 1, 12, 30)
    assert deadline_ms(naive, 0) == deadline_ms(naive.replace(tzinfo=dt.UTC), 0)


def test_past_datetimes_are_due_now() -> None:
    now_ms = deadline_ms(dt.datetime(2030, 1, 1, tzinfo=dt.UTC), 0)
    assert deadline_ms(dt.datetime(2000, 1, 1), now_ms) == now_ms
    assert deadline_ms(dt.datetime(2000, 1, 1, tzinfo=dt.UTC), now_ms) == now_ms
    just_before = dt.datetime(2029, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)
    assert deadline_ms(just_before, now_ms) == now_ms  # rounds up onto "now", never earlier


def test_deadline_refuses_bad_durations() -> None:
    with pytest.raises(ValueError, match="accepted forms"):
        deadline_ms("soon", 0)
    with pytest.raises(ValueError, match="negative"):
        deadline_ms(-5, 0)


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (0.00001, "1ms"), (0.25, "250ms"), (0.9994, "999ms"), (0.9996, "1s"),
    (1, "1s"), (2.5, "2.5s"), (9.96, "10s"), (45, "45s"), (59.4, "59s"), (59.6, "1m"),
    (60, "1m"), (90, "1m30s"), (5400, "1h30m"), (3600, "1h"), (86400 + 61, "1d1m1s"),
    (14 * 86400, "14d"), (-3, "-3s"), (-0.25, "-250ms"),
    (float("inf"), "forever"), (float("nan"), "?"), (dt.timedelta(hours=2), "2h"),
    (185, "3m5s"), (None, "-"),
])
def test_format_duration(seconds: Any, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [0, 0.25, 2.5, 45, 90, 5400, 93784, 14 * 86400])
def test_format_duration_output_parses_back(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds)
