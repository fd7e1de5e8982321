"""Durable timers, checked directly against Redis: claimed at or after due, once."""

from __future__ import annotations

import uuid

from actors import Message
from tests._workers import wait_for


def test_timer_is_not_claimed_before_it_is_due(rt) -> None:  # type: ignore[no-untyped-def]
    timers = rt.system.timers
    tid = f"t-{uuid.uuid4().hex}"
    msg = Message(kind="ring", actor_id="alarm-x", payload={})
    due = timers.schedule_in(tid, 600, msg)
    claimed = timers.claim_due()
    assert tid not in [t.timer_id for t in claimed.timers]
    assert claimed.now_ms < due

    def claim():  # type: ignore[no-untyped-def]
        result = timers.claim_due()
        return [(t, result.now_ms) for t in result.timers if t.timer_id == tid]

    (timer, now_ms), = wait_for(claim, 5, 0.02, "timer claim")
    assert now_ms >= due
    assert timer.message == msg
    # A claimed timer is not handed out twice while its claim holds.
    assert tid not in [t.timer_id for t in timers.claim_due().timers]
    timers.confirm(tid)
    assert tid not in timers.pending()


def test_cancelled_timer_never_fires(rt) -> None:  # type: ignore[no-untyped-def]
    timers = rt.system.timers
    tid = f"t-{uuid.uuid4().hex}"
    timers.schedule_in(tid, 0, Message(kind="ring", actor_id="alarm-x", payload={}))
    timers.cancel(tid)
    assert tid not in [t.timer_id for t in timers.claim_due().timers]
