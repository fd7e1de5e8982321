"""The slot and rate scripts against a real Redis: one slot per holder however often it
asks, waiters granted in order of arrival, dead step slots dropped, GCRA spacing."""

from __future__ import annotations

import time
import uuid
from typing import Any

from pyworkflow import keys
from pyworkflow.flow.slots import Slots, from_index_member, index_member
from pyworkflow.worker._scripts import script


def _slots(rt: Any) -> tuple[Slots, str]:
    return Slots(rt.redis, rt.settings.key_prefix), f"workflow:t-{uuid.uuid4().hex[:6]}"


def test_taking_a_slot_twice_is_one_slot_and_waiters_are_granted_in_order(rt: Any) -> None:
    slots, limit = _slots(rt)
    assert slots.acquire(limit, "k=1", "run:a", 2, "queue", 10_000, "{}").state == "held"
    assert slots.acquire(limit, "k=1", "run:a", 2, "queue", 10_000, "{}").state == "held"
    assert slots.acquire(limit, "k=1", "run:b", 2, "queue", 10_000, "{}").held == 2
    for name in ("c", "d", "e"):
        verdict = slots.acquire(limit, "k=1", f"run:{name}", 2, "queue", 10_000, name)
        assert (verdict.state, verdict.held) == ("waiting", 2)
    assert slots.acquire(limit, "k=1", "run:c", 2, "queue", 10_000, "c").state == "waiting"
    out = slots.release(limit, "k=1", "run:a")
    assert [g.holder for g in out.grants] == ["run:c"] and out.grants[0].payload == "c"
    assert out.grants[0].since_ms > 0 and (out.held, out.waiting) == (2, 2)
    out = slots.release(limit, "k=1", "run:d")  # a waiter leaves: nothing to grant
    assert out.released and out.grants == [] and out.waiting == 1
    out = slots.release(limit, "k=1", "run:b")
    assert [g.holder for g in out.grants] == ["run:e"]
    assert not slots.release(limit, "k=1", "run:b").released  # twice: nothing to let go
    assert slots.acquire(limit, "k=1", "run:e", 2, "queue", 10_000, "").state == "held"
    assert rt.redis.hget(keys.slot_keys(rt.settings.key_prefix, limit, "k=1")[2],
                         "run:e") is None  # a granted holder took its slot: payload gone


def test_a_dead_step_slot_is_dropped_and_its_slot_granted(rt: Any) -> None:
    slots, limit = _slots(rt)
    assert slots.acquire(limit, "", "step:r|1|1", 1, "queue", 50, "").state == "held"
    assert slots.acquire(limit, "", "step:r|2|1", 1, "queue", 50, "p2").state == "waiting"
    time.sleep(0.1)  # let the 50 ms lease lapse: nobody renewed it
    out = slots.release(limit, "", "")
    assert [g.holder for g in out.grants] == ["step:r|2|1"]
    assert rt.redis.zscore(slots.index, index_member(limit, "")) is not None


def test_an_expired_run_slot_is_reported_for_a_check_not_dropped(rt: Any) -> None:
    slots, limit = _slots(rt)
    slots.acquire(limit, "", "run:x", 1, "queue", 50, "")
    time.sleep(0.1)
    out = slots.release(limit, "", "")
    assert out.expired_runs == ["run:x"] and out.held == 1
    assert slots.renew(limit, "", ["run:x", "run:gone"], 10_000) == [True, False]


def test_cancel_newest_refuses_and_cancel_oldest_names_the_oldest_holder(rt: Any) -> None:
    slots, limit = _slots(rt)
    slots.acquire(limit, "", "run:old", 1, "cancel_newest", 10_000, "")
    assert slots.acquire(limit, "", "run:new", 1, "cancel_newest", 10_000, "").state \
        == "refused"
    slots, limit = _slots(rt)
    slots.acquire(limit, "", "run:1", 2, "cancel_oldest", 10_000, "")
    slots.acquire(limit, "", "run:2", 2, "cancel_oldest", 10_000, "")
    verdict = slots.acquire(limit, "", "run:3", 2, "cancel_oldest", 10_000, "")
    assert (verdict.state, verdict.victim) == ("waiting", "run:1")
    assert slots.acquire(limit, "", "run:4", 2, "cancel_oldest", 10_000, "").victim == "run:2"


def test_index_members_round_trip() -> None:
    assert from_index_member(index_member("step:s", "a=b c")) == ("step:s", "a=b c")


def test_gcra_allows_one_per_interval_and_reserves_the_next_start(rt: Any) -> None:
    take = script(rt.redis, "flow/rate_take")
    state = keys.rate_limit(rt.settings.key_prefix, f"step:r-{uuid.uuid4().hex[:6]}", "")
    assert take(keys=state, args=["a", 1000, 1]) == [1, 0]
    go, at = take(keys=state, args=["b", 1000, 1])
    assert go == 0 and 900 <= at - time.time() * 1000 <= 1100
    go2, at2 = take(keys=state, args=["c", 1000, 1])
    assert go2 == 0 and 1900 <= at2 - time.time() * 1000 <= 2100  # reserved one after b
    assert take(keys=state, args=["b", 1000, 1]) == [1, 0]  # b holds its reservation


def test_a_retried_run_takes_its_slot_back_over_the_max_and_newcomers_wait(rt: Any) -> None:
    slots, limit = _slots(rt)
    slots.acquire(limit, "", "run:a", 1, "queue", 10_000, "")
    assert slots.acquire(limit, "", "run:retried", 1, "force", 10_000, "").held == 2
    assert slots.acquire(limit, "", "run:new", 1, "queue", 10_000, "").state == "waiting"
    slots.release(limit, "", "run:a")  # 1 held of 1: still no room
    out = slots.release(limit, "", "run:retried")
    assert [g.holder for g in out.grants] == ["run:new"]
