"""The schedule actor under hostile input: bounded backfills and catch-ups, poison turns
parked in ``error``, and a delete that works in any state (no Redis, fake clock)."""

from __future__ import annotations

from typing import Any

import pytest

from actors.behaviour import MessageRejected, TurnContext
from actors.effects import StartTimer
from actors.journal import Event
from pyworkflow import ids
from pyworkflow.schedules.limits import MAX_BACKFILL, MAX_CATCH_UP, MAX_TURN_CRASHES
from pyworkflow.schedules.spec import epoch_ms
from tests._time_limit import within
from tests.schedules.test_behaviour import SID, T0, Harness, starts


def ms(iso: str) -> int:
    value = epoch_ms(iso)
    assert value is not None
    return value


def recovered(h: Harness, crashes: int) -> None:
    """What the runtime does when it finds turn tasks of the actor that died."""
    ctx = TurnContext(SID, turn=1, seq=len(h.journal))
    h.behaviour.on_recovered(h.state, ctx, crashes)
    for new in ctx.events:
        h.journal.append(Event(len(h.journal) + 1, new.type, new.data, new.ts))
    h.record.update(ctx.record)


def test_a_backfill_over_a_century_is_refused_at_once_and_starts_nothing() -> None:
    h = Harness()
    h.create(interval_s=60.0, start_at_ms=0)  # 30 million firings before now
    with within(5), pytest.raises(MessageRejected, match=f"at most {MAX_BACKFILL}"):
        h.send("backfill", start_ms=0, end_ms=ms("2100-01-01T00:00:00Z"))
    assert h.state.fired == 0


def test_a_backfill_of_exactly_the_limit_starts_every_firing() -> None:
    h = Harness()
    h.create(interval_s=1.0, start_at_ms=int(T0 * 1000) - MAX_BACKFILL * 1000)
    runs = starts(h.send("backfill", start_ms=0, end_ms=int(T0 * 1000) - 1))
    assert len(runs) == MAX_BACKFILL


def test_a_backfill_never_starts_a_firing_after_now() -> None:
    h = Harness()
    h.create(cron="*/10 * * * *")
    now = ms("2027-01-15T08:05:00Z")
    h.now = now / 1000
    runs = starts(h.send("backfill", start_ms=now - 3_600_000, end_ms=now + 3_600_000))
    assert [r.payload["fire_time"] for r in runs][-1] == "2027-01-15T08:00:00+00:00"
    assert len(runs) == 6  # 07:10 to 08:00


def test_a_backfill_before_an_interval_schedule_was_created_finds_nothing() -> None:
    h = Harness()
    h.create(interval_s=60.0)
    assert starts(h.send("backfill", start_ms=int(T0 * 1000) - 3_600_000,
                         end_ms=int(T0 * 1000))) == []


def test_a_year_without_workers_is_caught_up_with_bounded_work() -> None:
    h = Harness()
    h.create(interval_s=1.0, overlap="allow_all")
    h.now += 365 * 86400
    with within(5):
        effects = h.fire_armed()
    runs = starts(effects)
    assert len(runs) == MAX_CATCH_UP
    assert runs[-1].actor_id == ids.scheduled_run_id(SID, int(h.now * 1000))
    (timer,) = [e for e in effects if isinstance(e, StartTimer)]
    assert timer.due_ms == int(h.now * 1000) + 1000


def test_turns_that_keep_dying_park_the_schedule_and_dead_letter_the_message() -> None:
    h = Harness()
    h.create(interval_s=60.0)
    for _ in range(MAX_TURN_CRASHES - 1):
        recovered(h, 1)
        assert h.state.status == "active"
    recovered(h, 1)
    assert h.state.status == "error" and h.record["status"] == "error"
    assert "died 3 times" in h.record["error"] and h.record["next_fire_ms"] == ""
    # the message the dead turns were handling comes back: refused (dead-lettered)
    with pytest.raises(MessageRejected, match="parked in error"):
        h.send("backfill", start_ms=0, end_ms=int(T0 * 1000))
    with pytest.raises(MessageRejected, match="parked in error"):
        h.send("fire", generation=h.state.generation, fire_ms=int(T0 * 1000) + 60_000)
    recovered(h, 5)  # parked: no more journal growth
    assert h.journal[-1].type == "schedule_errored"
    assert h.rebuilt() == h.state
    (timer,) = h.send("resume")
    assert isinstance(timer, StartTimer)
    assert h.state.status == "active" and h.record["error"] == ""


def test_a_committed_turn_starts_the_count_of_dead_turns_again() -> None:
    h = Harness()
    h.create(interval_s=60.0)
    recovered(h, MAX_TURN_CRASHES - 1)
    h.send("trigger")
    assert h.state.crashes_in_a_row == 0
    recovered(h, MAX_TURN_CRASHES - 1)
    assert h.state.status == "active"


def test_a_parked_schedule_and_one_never_created_can_be_deleted() -> None:
    h = Harness()
    recovered(h, MAX_TURN_CRASHES)  # its create killed the turns
    assert h.state.status == "error"
    with pytest.raises(MessageRejected, match="parked"):
        h.create(interval_s=60.0)
    with pytest.raises(MessageRejected, match="never created"):
        h.send("resume")
    h.send("delete")
    assert h.state.status == "deleted" and h.record["status"] == "deleted"
    h.create(interval_s=60.0)  # and created again
    assert h.state.status == "active"

    stuck = Harness()  # a create the actor refused: the API's record says "active"
    stuck.send("delete")
    assert stuck.record["status"] == "deleted"


@pytest.mark.parametrize("spec", [
    {"interval_s": 60.0, "start_at_ms": 253_402_300_000_000},  # 9999-12-31
    {"interval_s": 1e11 * 86400},
])
def test_a_spec_past_the_limits_that_reaches_the_actor_is_refused(spec: dict[str, Any]) -> None:
    h = Harness()
    with pytest.raises(MessageRejected, match="must be|limit"):
        h.create(**spec)
    assert h.state.status == ""
