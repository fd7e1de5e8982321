"""Durable timers, checked directly against Redis: claimed at or after due, once; and
a pool process's runner (``actors.timer_runner``) running a due timer's turn itself."""

from __future__ import annotations

import math
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


def _forget(rt, *timer_ids: str) -> None:  # type: ignore[no-untyped-def]
    """Cancel what a test armed and did not deliver: it would fire in a later test's
    worker, which runs no toy actors."""
    rt.system.timers.cancel(*timer_ids)


def test_claim_earliest_takes_the_earliest_due_timers_of_all_shards(rt) -> None:  # type: ignore[no-untyped-def]
    timers = rt.system.timers
    # Due at the dawn of time: earlier than any other test's timer, so these are the
    # earliest; spread over the shards by their ids.
    tids = [f"t-{uuid.uuid4().hex}" for _ in range(6)]
    assert len({rt.system.keys.timer_shard_of(t).due for t in tids}) > 1
    msg = Message(kind="ring", actor_id="alarm-x", payload={})
    for i, tid in enumerate(reversed(tids)):
        timers.schedule_at(tid, 1000 + len(tids) - 1 - i, msg)
    try:
        first = timers.claim_earliest(2)
        assert [t.timer_id for t in first.timers] == tids[:2]
        assert [t.due_ms for t in first.timers] == [1000, 1001]
        assert first.next_due_ms == 1002  # the earliest left, in any shard
        second = timers.claim_earliest(3)
        assert [t.timer_id for t in second.timers] == tids[2:5]
        pending = timers.pending()
        assert tids[5] in pending and not set(tids[:5]) & set(pending)
    finally:
        _forget(rt, *tids)


def test_a_grace_leaves_a_just_due_timer_unclaimed(rt) -> None:  # type: ignore[no-untyped-def]
    timers = rt.system.timers
    tid = f"t-{uuid.uuid4().hex}"
    due = timers.schedule_in(tid, 0, Message(kind="ring", actor_id="alarm-x", payload={}))
    try:
        held_back = timers.claim_due(grace_ms=60_000)
        assert tid not in [t.timer_id for t in held_back.timers]
        assert held_back.next_due_ms is not None and held_back.next_due_ms <= due
        assert tid in [t.timer_id for t in timers.claim_due().timers]
    finally:
        _forget(rt, tid)


def _rang(rt, actor_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.data["name"] for e in rt.system.journal(actor_id).read() if e.type == "rang"]


def _arm_now(rt, sent: list) -> tuple[str, str]:  # type: ignore[no-untyped-def,type-arg]
    """An alarm actor whose timer is due now, its arming turn run here."""
    actor_id = f"alarm-{uuid.uuid4().hex[:10]}"
    rt.system.send(actor_id, "arm", {"name": "wake", "delay_ms": 0})
    while sent:
        name, args, kwargs = sent.pop(0)
        rt.celery.tasks[name].run(*args, **kwargs)
    return actor_id, f"{actor_id}:wake"


def test_a_runner_runs_a_due_timers_turn_in_its_own_process(rt, captured_tasks) -> None:  # type: ignore[no-untyped-def]
    from actors.timer_runner import TimerRunner

    actor_id, timer_id = _arm_now(rt, captured_tasks)
    runner = TimerRunner(rt.system, keep=lambda queue: True)
    try:
        wait_for(lambda: runner.run_due() == 0 and _rang(rt, actor_id), 5, 0.01,
                 "the runner's turn")
        assert _rang(rt, actor_id) == ["wake"]
        assert [name for name, _, _ in captured_tasks] == []  # no wake task, no turn task
        assert timer_id not in rt.system.timers.pending()  # confirmed by the turn's begin
    finally:
        _forget(rt, timer_id)


def test_a_runner_sends_a_turn_it_may_not_run_as_a_wake_task(rt, captured_tasks) -> None:  # type: ignore[no-untyped-def]
    from actors.task_names import WAKE_TASK_NAME
    from actors.timer_runner import TimerRunner

    actor_id, timer_id = _arm_now(rt, captured_tasks)
    runner = TimerRunner(rt.system, keep=lambda queue: False)  # a queue it does not read
    try:
        wait_for(lambda: runner.run_due() == 0 and any(
            timer_id in repr(args) for _, args, _ in captured_tasks), 5, 0.01, "a wake task")
        assert _rang(rt, actor_id) == []
        (name, args, kwargs), = [t for t in captured_tasks if timer_id in repr(t[1])]
        assert name == WAKE_TASK_NAME
        rt.celery.tasks[name].run(*args, **kwargs)
        assert _rang(rt, actor_id) == ["wake"]
    finally:
        _forget(rt, timer_id)


def test_a_runner_runs_due_timers_once_the_task_in_its_process_ended(rt, captured_tasks) -> None:  # type: ignore[no-untyped-def]
    from actors.timer_runner import TimerRunner

    actor_id, timer_id = _arm_now(rt, captured_tasks)
    runner = TimerRunner(rt.system, keep=lambda queue: True)
    runner.task_started()  # a Celery task is running in this process
    runner.start()
    try:
        runner.task_ended()
        wait_for(lambda: _rang(rt, actor_id), 5, 0.01, "the runner's turn after the task")
        assert [name for name, _, _ in captured_tasks] == []
    finally:
        runner.stop()
        _forget(rt, timer_id)


def test_a_timer_scheduled_in_its_process_wakes_a_sleeping_runner(  # type: ignore[no-untyped-def]
        rt, captured_tasks, monkeypatch) -> None:
    from actors import timer_runner

    monkeypatch.setattr(timer_runner, "RUNNER_POLL_S", 60.0)  # no poll finds it in time
    runner = timer_runner.TimerRunner(rt.system, keep=lambda queue: True)
    monkeypatch.setattr(rt.system.timers, "on_schedule", runner.poke)
    runner.start()
    actor_id = f"alarm-{uuid.uuid4().hex[:10]}"
    try:
        wait_for(lambda: runner._poked_ms == math.inf, 5, 0.01, "the runner asleep")
        rt.system.send(actor_id, "arm", {"name": "soon", "delay_ms": 300})
        while captured_tasks:  # the arming turn, run here: it schedules the timer
            name, args, kwargs = captured_tasks.pop(0)
            rt.celery.tasks[name].run(*args, **kwargs)
        wait_for(lambda: _rang(rt, actor_id), 5, 0.01, "the poked runner's turn")
        (rang,) = [e.data for e in rt.system.journal(actor_id).read() if e.type == "rang"]
        assert rang["at_ms"] >= rang["due_ms"]
    finally:
        runner.stop()
        _forget(rt, f"{actor_id}:soon")


def test_a_runner_pulse_beaten_in_a_forked_process_is_seen_by_its_parent() -> None:
    import multiprocessing

    from actors.timer_runner import RunnerPulse

    pulse = RunnerPulse()
    assert not pulse.alive()  # no runner yet: the main loop claims timers itself
    child = multiprocessing.get_context("fork").Process(target=pulse.beat)
    child.start()
    child.join(10)
    assert child.exitcode == 0
    assert pulse.alive()  # a pool process's beat, seen by the worker's main process


def test_a_sleeping_runner_beats_its_pulse(rt) -> None:  # type: ignore[no-untyped-def]
    from actors.timer_runner import RunnerPulse, TimerRunner

    pulse = RunnerPulse()
    runner = TimerRunner(rt.system, keep=lambda queue: True, pulse=pulse)
    runner.task_started()  # busy with a task: no pass, no beat
    runner.start()
    try:
        assert not pulse.alive()
        runner.task_ended()
        wait_for(pulse.alive, 5, 0.01, "the runner's beat")
    finally:
        runner.stop()
