"""A schedule's inputs are bounded at the door, and its firing times are computed with
bounded work: DST repeats fire once, a century of firings is counted at once."""

from __future__ import annotations

import time
from typing import Any

import pytest

from pyworkflow.schedules import limits
from pyworkflow.schedules.errors import InvalidScheduleError
from pyworkflow.schedules.spec import ScheduleSpec, check_schedule_id, epoch_ms
from tests._time_limit import within


def spec(**fields: Any) -> ScheduleSpec:
    return ScheduleSpec(workflow="wf", args=[], kwargs={}, **fields)


def ms(iso: str) -> int:
    value = epoch_ms(iso)
    assert value is not None
    return value


def test_a_repeated_autumn_time_fires_once_at_its_first_occurrence() -> None:
    # 2026-10-25 in Paris: 03:00 CEST goes back to 02:00 CET; 02:00 and 02:30 happen twice
    every_half_hour = spec(cron="*/30 2 * * *", timezone="Europe/Paris")
    that_night = list(every_half_hour.firings(ms("2026-10-24T12:00:00Z"),
                                              ms("2026-10-25T12:00:00Z")))
    assert that_night == [ms("2026-10-25T00:00:00Z"), ms("2026-10-25T00:30:00Z")]  # CEST
    # from the newest end too, and one instant after the first pass
    assert every_half_hour.newest(ms("2026-10-24T12:00:00Z"), ms("2026-10-25T12:00:00Z"),
                                  10) == that_night
    assert every_half_hour.next_after(ms("2026-10-25T00:30:00Z")) == ms("2026-10-26T01:00:00Z")
    hourly = spec(cron="0 * * * *", timezone="Europe/Paris")
    hours = list(hourly.firings(ms("2026-10-24T23:30:00Z"), ms("2026-10-25T02:30:00Z")))
    assert hours == [ms("2026-10-25T00:00:00Z"), ms("2026-10-25T02:00:00Z")]  # 02 CEST, 03 CET


def test_counting_a_century_of_firings_is_bounded() -> None:
    every_second = spec(interval_s=1.0, anchor_ms=0)
    start, end = ms("1970-01-01T00:00:00Z"), ms("2100-01-01T00:00:00Z")
    with within(2):
        assert every_second.count(start, end, 1000) == ((end - start) // 1000, True)
        newest = every_second.newest(start, end, 5)
        every_minute = spec(cron="* * * * *")
        assert every_minute.count(start, end, 1000) == (1001, False)
        assert len(every_minute.newest(start, end, 100)) == 100
    assert newest == [end - 4000, end - 3000, end - 2000, end - 1000, end]


def test_an_interval_counts_from_its_start_at_or_one_step_after_its_anchor() -> None:
    anchored = spec(interval_s=60.0, anchor_ms=ms("2026-05-01T10:00:00Z"))
    assert anchored.count(ms("2026-05-01T00:00:00Z"), ms("2026-05-01T10:00:00Z"), 10) == (0, True)
    assert list(anchored.firings(ms("2026-05-01T00:00:00Z"), ms("2026-05-01T10:02:00Z"))) == [
        ms("2026-05-01T10:01:00Z"), ms("2026-05-01T10:02:00Z")]
    started = spec(interval_s=60.0, start_at_ms=ms("2026-05-01T10:00:00Z"))
    assert started.count(ms("2026-05-01T00:00:00Z"), ms("2026-05-01T10:02:00Z"), 10) == (3, True)
    assert started.newest(0, ms("2026-05-01T10:02:30Z"), 10) == list(
        started.firings(0, ms("2026-05-01T10:02:30Z")))


@pytest.mark.parametrize("fields, match", [
    ({"interval_s": 60.0, "start_at_ms": ms("9999-01-01T00:00:00Z")}, "start_at must be"),
    ({"interval_s": 60.0, "end_at_ms": ms("2300-01-01T00:00:00Z")}, "end_at must be"),
    ({"interval_s": 60.0, "start_at_ms": -1}, "start_at must be"),
    ({"interval_s": 1e11 * 86400}, "longer than the limit"),
    ({"interval_s": float("inf")}, "a number of seconds"),
    ({"interval_s": "60"}, "a number of seconds"),
    ({"cron": "0 3 * * * " + " " * limits.MAX_CRON_LENGTH}, "at most"),
    ({"interval_s": 60.0, "timezone": "Europe/" + "x" * 100}, "at most"),
    ({"interval_s": 60.0, "jitter_s": 2 * 86400.0}, "jitter must be"),
])
def test_a_value_outside_the_limits_is_refused(fields: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidScheduleError, match=match):
        spec(**fields).check()


def test_the_limits_themselves_are_accepted() -> None:
    spec(interval_s=limits.MAX_INTERVAL_S, start_at_ms=limits.EARLIEST_MS,
         end_at_ms=limits.LATEST_MS, jitter_s=limits.MAX_JITTER_S).check()
    last = spec(cron="59 23 31 12 *", start_at_ms=limits.LATEST_MS - 1)
    assert last.check().next_after(limits.LATEST_MS - 1) is not None


@pytest.mark.parametrize("sid", ["sched-" + "x" * 200, "sched-a b", "sched-é", "sched-a/b"])
def test_a_schedule_id_outside_the_limits_is_refused(sid: str) -> None:
    with pytest.raises(InvalidScheduleError, match="schedule id"):
        check_schedule_id(sid)


def test_a_range_check_takes_no_time_even_for_a_huge_interval() -> None:
    started = time.monotonic()
    huge = spec(interval_s=limits.MAX_INTERVAL_S, anchor_ms=0)
    assert huge.count(0, limits.LATEST_MS, 1000) == (2, True)
    assert time.monotonic() - started < 1
