"""The schedule actor's promises, checked on its behaviour alone (no Redis, fake clock)."""

from __future__ import annotations

from typing import Any

import pytest

from actors.behaviour import MessageRejected, TurnContext
from actors.effects import CancelTimer, Send, StartTimer
from actors.journal import Event
from actors.message import Message
from pyworkflow import events as ev
from pyworkflow import ids
from pyworkflow.schedules.behaviour import ScheduleBehaviour
from pyworkflow.schedules.errors import InvalidScheduleError
from pyworkflow.schedules.spec import ScheduleSpec, epoch_ms
from pyworkflow.schedules.state import ScheduleState

SID = "sched-test"
T0 = 1_800_000_000.0  # a whole second, 2027-01-15


class Harness:
    """Feeds messages to the behaviour, keeping the journal it would commit."""

    def __init__(self) -> None:
        self.now = T0
        self.behaviour = ScheduleBehaviour(clock=lambda: self.now)
        self.state: ScheduleState = self.behaviour.initial_state(SID)
        self.journal: list[Event] = []
        self.record: dict[str, str] = {}

    def send(self, kind: str, **payload: Any) -> list[Any]:
        ctx = TurnContext(SID, turn=1, seq=len(self.journal))
        self.behaviour.handle(self.state, Message(kind, SID, payload), ctx)
        self.behaviour.settle(self.state, ctx)
        for new in ctx.events:
            self.journal.append(Event(len(self.journal) + 1, new.type, new.data, new.ts))
        self.record.update(ctx.record)
        return ctx.effects

    def create(self, **spec: Any) -> list[Any]:
        body = ScheduleSpec(workflow="wf", args=[], kwargs={}, **spec).to_dict()
        return self.send("create", spec=body)

    def fire_armed(self) -> list[Any]:
        """Deliver the armed timer (at the current clock)."""
        return self.send("fire", generation=self.state.generation,
                         fire_ms=self.state.next_fire_ms)

    def rebuilt(self) -> ScheduleState:
        state = self.behaviour.initial_state(SID)
        for event in self.journal:
            self.behaviour.apply(state, event)
        return state


def starts(effects: list[Any]) -> list[Send]:
    return [e for e in effects if isinstance(e, Send) and e.kind == "start"]


def test_an_interval_schedule_starts_one_run_per_firing_with_a_derived_id() -> None:
    h = Harness()
    (timer,) = h.create(interval_s=2.0)
    assert isinstance(timer, StartTimer) and timer.due_ms == T0 * 1000 + 2000
    run_ids = []
    for _ in range(4):
        h.now = h.state.next_fire_ms / 1000  # type: ignore[operator]
        (start,) = starts(h.fire_armed())
        run_ids.append(start.actor_id)
        assert start.msg_id == ids.start_message_id(start.actor_id)
        assert start.payload["schedule_id"] == SID
        h.send("run-ended", run_id=start.actor_id, status="completed")
    assert run_ids == [ids.scheduled_run_id(SID, int(T0 * 1000) + 2000 * k) for k in (1, 2, 3, 4)]
    assert len(set(run_ids)) == 4


def test_a_duplicate_or_stale_timer_starts_nothing() -> None:
    h = Harness()
    h.create(interval_s=2.0)
    armed = (h.state.generation, h.state.next_fire_ms)
    h.now += 2
    assert len(starts(h.fire_armed())) == 1
    assert starts(h.send("fire", generation=armed[0], fire_ms=armed[1])) == []


def test_pause_cancels_the_timer_and_resume_arms_from_now_without_catch_up() -> None:
    h = Harness()
    h.create(interval_s=2.0)
    stale = (h.state.generation, h.state.next_fire_ms)
    effects = h.send("pause")
    assert [type(e) for e in effects] == [CancelTimer]
    assert h.record["status"] == "paused"
    h.now += 60
    assert starts(h.send("fire", generation=stale[0], fire_ms=stale[1])) == []
    (timer,) = h.send("resume")
    assert isinstance(timer, StartTimer) and timer.due_ms == T0 * 1000 + 62_000
    assert h.record["status"] == "active"


def test_trigger_starts_a_run_now() -> None:
    h = Harness()
    h.create(interval_s=3600.0)
    h.now += 5.5
    (start,) = starts(h.send("trigger"))
    assert start.actor_id == ids.scheduled_run_id(SID, int((T0 + 5.5) * 1000))


def test_skip_collapses_missed_firings_into_one_catch_up_run() -> None:
    h = Harness()
    h.create(interval_s=2.0)
    h.now += 30  # no worker for 30 s: 15 firings missed
    effects = h.fire_armed()
    (start,) = starts(effects)
    assert start.actor_id == ids.scheduled_run_id(SID, int((T0 + 30) * 1000))
    (timer,) = [e for e in effects if isinstance(e, StartTimer)]
    assert timer.due_ms == (T0 + 32) * 1000


def test_skip_starts_nothing_while_a_run_is_going() -> None:
    h = Harness()
    h.create(interval_s=2.0)
    h.now += 2
    h.fire_armed()
    h.now += 2
    assert starts(h.fire_armed()) == []
    assert h.state.skipped == 1


def test_allow_all_catches_up_every_missed_firing() -> None:
    h = Harness()
    h.create(interval_s=2.0, overlap="allow_all")
    h.now += 10
    assert len(starts(h.fire_armed())) == 5


def test_buffer_one_keeps_one_firing_for_when_the_run_ends() -> None:
    h = Harness()
    h.create(interval_s=2.0, overlap="buffer_one")
    h.now += 2
    (first,) = starts(h.fire_armed())
    for _ in range(3):
        h.now += 2
        assert starts(h.fire_armed()) == []
    assert h.state.buffered == [int((T0 + 4) * 1000)] and h.state.skipped == 2
    (second,) = starts(h.send("run-ended", run_id=first.actor_id, status="completed"))
    assert second.actor_id == ids.scheduled_run_id(SID, int((T0 + 4) * 1000))


def test_buffer_all_runs_every_firing_one_after_another() -> None:
    h = Harness()
    h.create(interval_s=2.0, overlap="buffer_all")
    h.now += 6
    (first,) = starts(h.fire_armed())
    assert len(h.state.buffered) == 2
    (second,) = starts(h.send("run-ended", run_id=first.actor_id, status="completed"))
    (third,) = starts(h.send("run-ended", run_id=second.actor_id, status="failed"))
    assert starts(h.send("run-ended", run_id=third.actor_id, status="completed")) == []


def test_cancel_other_cancels_the_running_run_then_starts_the_new_one() -> None:
    h = Harness()
    h.create(interval_s=2.0, overlap="cancel_other")
    h.now += 2
    (first,) = starts(h.fire_armed())
    h.now += 2
    effects = h.fire_armed()
    (cancel,) = [e for e in effects if isinstance(e, Send) and e.kind == "cancel"]
    assert cancel.actor_id == first.actor_id and starts(effects) == []
    (second,) = starts(h.send("run-ended", run_id=first.actor_id, status="cancelled"))
    assert second.actor_id == ids.scheduled_run_id(SID, int((T0 + 4) * 1000))


def test_a_backfill_of_a_cron_schedule_starts_one_run_per_firing_once() -> None:
    h = Harness()
    h.create(cron="*/10 * * * *")
    start, end = epoch_ms("2026-05-01T10:00:00Z"), epoch_ms("2026-05-01T11:00:00Z")
    runs = starts(h.send("backfill", start_ms=start, end_ms=end))
    assert [r.payload["fire_time"] for r in runs] == [
        f"2026-05-01T{h:02d}:{m:02d}:00+00:00" for h, m in
        [(10, 0), (10, 10), (10, 20), (10, 30), (10, 40), (10, 50), (11, 0)]]
    assert starts(h.send("backfill", start_ms=start, end_ms=end)) == []


def test_the_state_rebuilt_from_the_journal_is_the_state_handled() -> None:
    h = Harness()
    h.create(interval_s=2.0, overlap="buffer_all")
    h.now += 6
    h.fire_armed()
    h.send("pause")
    assert h.rebuilt() == h.state


def test_delete_stops_it_and_a_declaration_only_updates_on_change() -> None:
    h = Harness()
    spec = ScheduleSpec(workflow="wf", args=[], kwargs={}, interval_s=5.0).to_dict()
    h.send("declare", spec=spec)
    assert h.state.status == "active"
    assert h.send("declare", spec=spec) == []
    h.send("declare", spec={**spec, "interval_s": 7.0})
    assert h.state.spec is not None and h.state.spec.interval_s == 7.0
    h.send("delete")
    assert h.state.status == "deleted" and h.record["status"] == "deleted"
    assert starts(h.send("trigger")) == []


def test_a_bad_spec_that_reaches_the_actor_is_rejected() -> None:
    h = Harness()
    with pytest.raises(MessageRejected, match="cron"):
        h.create(cron="61 * * * *")


def test_schedule_events_are_all_described() -> None:
    assert ev.SCHEDULE_FIRED in ev.SCHEDULE_DESCRIPTIONS
    assert ev.SCHEDULE_FIRED not in ev.ALL


@pytest.mark.parametrize("spec, match", [
    ({"cron": "not cron"}, "bad cron expression"),
    ({"cron": "0 3 * * *", "timezone": "Mars/Olympus"}, "unknown timezone"),
    ({}, "exactly one"),
    ({"cron": "0 3 * * *", "interval_s": 5.0}, "exactly one"),
    ({"interval_s": 0.1}, "shorter"),
    ({"interval_s": 5.0, "overlap": "sometimes"}, "unknown overlap policy"),
])
def test_a_bad_spec_is_refused_with_a_clear_error(spec: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidScheduleError, match=match):
        ScheduleSpec(workflow="wf", args=[], kwargs={}, **spec).check()


def test_cron_follows_the_timezone_across_dst() -> None:
    spec = ScheduleSpec(workflow="wf", args=[], kwargs={}, cron="30 2 * * *",
                        timezone="America/New_York")
    # 2026-03-08: 02:30 does not exist in New York (clocks jump 02:00 -> 03:00)
    after = epoch_ms("2026-03-07T12:00:00Z")
    assert after is not None
    first = spec.next_after(after)
    second = spec.next_after(first)  # type: ignore[arg-type]
    assert first == epoch_ms("2026-03-08T07:00:00Z")  # 03:00 EDT, the first instant after
    assert second == epoch_ms("2026-03-09T06:30:00Z")  # 02:30 EDT
