"""Issue 24: a ``buffer_all`` schedule keeps at most ``MAX_BUFFERED_FIRINGS`` firings
waiting for its run to end; one more is skipped with a trace (``schedule_skipped``,
reason ``buffer full``), the schedule stays active, and room comes back as runs end."""

from __future__ import annotations

from pyworkflow import events as ev
from pyworkflow.schedules.limits import MAX_BUFFERED_FIRINGS
from tests.schedules.test_behaviour import Harness, starts


def full(h: Harness) -> str:
    """Fire the armed timer (and its catch-up) until the buffer is full and one more
    firing came; the run the first firing started never ends. Its first run's id."""
    h.create(interval_s=2.0, overlap="buffer_all")
    h.now += 2
    (first,) = starts(h.fire_armed())
    while len(h.state.buffered) < MAX_BUFFERED_FIRINGS:
        h.now += 2 * min(100, MAX_BUFFERED_FIRINGS - len(h.state.buffered))
        assert starts(h.fire_armed()) == []
    h.now += 2
    assert starts(h.fire_armed()) == []
    return first.actor_id


def skips(h: Harness) -> list[dict[str, object]]:
    return [e.data for e in h.journal if e.type == ev.SCHEDULE_SKIPPED]


def test_a_firing_past_the_buffer_cap_is_skipped_with_its_reason() -> None:
    assert MAX_BUFFERED_FIRINGS == 1000
    h = Harness()
    first = full(h)
    assert len(h.state.buffered) == MAX_BUFFERED_FIRINGS
    (skip,) = skips(h)
    assert skip["fire_ms"] == h.state.buffered[-1] + 2000
    assert str(skip["reason"]).startswith(
        f"buffer full: {MAX_BUFFERED_FIRINGS} firings already wait for a run to end")
    assert h.state.skipped == 1 and h.state.status == "active"
    assert h.state.next_fire_ms == skip["fire_ms"] + 2000  # the timer is armed again
    assert h.rebuilt() == h.state
    # A trigger with the schedule's policy meets the same cap.
    h.now += 0.5
    assert starts(h.send("trigger")) == [] and len(skips(h)) == 2
    # A run that ends makes room: the oldest waiting firing starts, the next one waits.
    (second,) = starts(h.send("run-ended", run_id=first, status="completed"))
    assert len(h.state.buffered) == MAX_BUFFERED_FIRINGS - 1
    h.now = h.state.next_fire_ms / 1000  # type: ignore[operator]
    assert starts(h.fire_armed()) == []
    assert len(h.state.buffered) == MAX_BUFFERED_FIRINGS and len(skips(h)) == 2
    assert second.actor_id != first
