"""A due timer's message travels in hand, inside the wake task that runs its actor's turn.

Against a real Redis, with the tasks the runtime sends captured and run here (their
registered bodies): an idle actor's timer goes out in a wake task, not through the
mailbox, and stays claimed until its turn's begin holds the message; a burst is cut
into wake tasks of at most ``WAKE_BATCH`` turns, at least one per pool process; a
busy actor's timer goes through the mailbox; a stale turn delivers its message the
usual way; a turn holding bytes that are not a message is dead-lettered and the
actor's turn still runs, and so do the other turns of its task.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from actors import Message
from actors.system import WAKE_BATCH
from actors.task_names import WAKE_TASK_NAME
from actors.timers import ClaimedTimer
from tests._workers import wait_for


@pytest.fixture
def sent(rt: Any, captured_tasks: Any) -> Any:
    yield captured_tasks
    _forget_timers(rt)


#: a timer armed this far ahead never fires during a test session (whose keys go at
#: its end): it must not fire in a later test's worker, which runs no toy actors
DAY_MS = 86_400_000

def _forget_timers(rt: Any) -> None:
    """Cancel what these tests armed and did not deliver (a "later" timer, a claim
    left unconfirmed): it would fire in a later test's worker, which does not run the
    toy actors, and leave an actor there for recovery."""
    for shard in rt.system.keys.timer_shards:
        for key in (shard.due, shard.claimed):
            ids = [raw.decode() for raw in rt.redis.zrange(key, 0, -1)]
            mine = [timer_id for timer_id in ids if timer_id in _ARMED]
            if mine:
                rt.system.timers.cancel(*mine)


#: the timers these tests arm (cancelled after each test)
_ARMED: set[str] = set()


def _run(rt: Any, task: tuple[str, list[Any], dict[str, Any]]) -> None:
    name, args, kwargs = task
    rt.celery.tasks[name].run(*args, **kwargs)


def _armed(rt: Any, sent: list[Any], name: str = "wake") -> tuple[str, str]:
    """An alarm actor with a timer due now, its arming turn run; (actor id, timer id)."""
    actor_id = f"alarm-{uuid.uuid4().hex[:10]}"
    _ARMED.update({f"{actor_id}:{name}", f"{actor_id}:later"})
    rt.system.send(actor_id, "arm", {"name": name, "delay_ms": 0})
    while sent:
        _run(rt, sent.pop(0))
    return actor_id, f"{actor_id}:{name}"


def _claim(rt: Any, timer_id: str) -> ClaimedTimer:
    return _claim_all(rt, [timer_id])[0]


def _claim_all(rt: Any, timer_ids: list[str]) -> list[ClaimedTimer]:
    """These timers, claimed (a claim takes every due timer: keep the ones asked for)."""
    found: dict[str, ClaimedTimer] = {}

    def all_found() -> bool:
        found.update((t.timer_id, t) for t in rt.system.timers.claim_due().timers
                     if t.timer_id in timer_ids)
        return len(found) == len(timer_ids)

    wait_for(all_found, 5, 0.02, f"claim of {timer_ids}")
    return [found[timer_id] for timer_id in timer_ids]


def _rang(rt: Any, actor_id: str) -> list[str]:
    return [e.data["name"] for e in rt.system.journal(actor_id).read() if e.type == "rang"]


def _claimed(rt: Any, timer_id: str) -> bool:
    shard = rt.system.keys.timer_shard_of(timer_id)
    return rt.redis.zscore(shard.claimed, timer_id) is not None


def _mailbox_length(rt: Any, actor_id: str) -> int:
    return int(rt.system.mailbox.size(rt.system.actor_keys(actor_id).mailbox))


def test_an_idle_actors_timer_goes_in_hand_and_is_confirmed_by_its_turn(
        rt: Any, sent: Any) -> None:
    actor_id, timer_id = _armed(rt, sent)
    timer = _claim(rt, timer_id)
    rt.system.deliver_timers([timer])
    (task,) = sent
    assert task[0] == WAKE_TASK_NAME
    ((turn_actor, _, held, held_timer),) = task[1][0]
    assert (turn_actor, held_timer) == (actor_id, timer_id)
    assert Message.decode(held) == timer.message
    assert _mailbox_length(rt, actor_id) == 0  # not through the mailbox
    # Not confirmed until a turn holds the message: were the task lost, it fires again.
    assert _claimed(rt, timer_id)
    _run(rt, sent.pop())
    assert _rang(rt, actor_id) == ["wake"]
    assert not _claimed(rt, timer_id)
    assert timer_id not in rt.system.timers.pending()


def test_a_busy_actors_timer_goes_through_the_mailbox(rt: Any, sent: Any) -> None:
    actor_id, timer_id = _armed(rt, sent)
    timer = _claim(rt, timer_id)
    assert rt.system.activate(actor_id)  # a turn is queued: the actor is busy
    (queued_turn,) = sent
    sent.clear()
    rt.system.deliver_timers([timer])
    assert sent == []  # no second turn task
    assert _mailbox_length(rt, actor_id) == 1
    assert timer_id not in rt.system.timers.pending()  # confirmed: it is in the mailbox
    _run(rt, queued_turn)
    assert _rang(rt, actor_id) == ["wake"]


def test_a_stale_timer_turn_delivers_its_message_the_usual_way(rt: Any, sent: Any) -> None:
    actor_id, timer_id = _armed(rt, sent)
    timer = _claim(rt, timer_id)
    rt.system.deliver_timers([timer])
    (task,) = sent
    sent.clear()
    # The actor is taken over before the task runs (its queued lease lapsed).
    rt.redis.delete(rt.system.actor_keys(actor_id).activation)
    _run(rt, task)
    assert _rang(rt, actor_id) == []  # the stale task ran no turn itself
    assert timer_id not in rt.system.timers.pending()  # the message is in the mailbox
    while sent:  # the turn that delivery started
        _run(rt, sent.pop(0))
    assert _rang(rt, actor_id) == ["wake"]


def test_a_timer_turn_holding_garbage_is_dead_lettered_and_the_turn_runs(
        rt: Any, sent: Any) -> None:
    actor_id, _ = _armed(rt, sent)
    rt.system.send(actor_id, "arm", {"name": "later", "delay_ms": DAY_MS})
    (turn,) = sent
    sent.clear()
    _, (_, token), _ = turn
    other_id, _ = _armed(rt, sent)  # a second turn in the same task still runs
    other_timer = _claim(rt, f"{other_id}:wake")
    rt.system.deliver_timers([other_timer])
    ((good,),) = sent.pop()[1]
    before = len(rt.system.dead_letters.list(actor_id=actor_id))
    _run(rt, (WAKE_TASK_NAME, [[[actor_id, token, "{not json", "forged"], good]], {}))
    letters = rt.system.dead_letters.list(actor_id=actor_id)
    assert len(letters) == before + 1
    assert "timer turn" in letters[-1]["reason"]
    # The turn ran without it: the message in the mailbox was handled.
    armed = [e.data["name"] for e in rt.system.journal(actor_id).read() if e.type == "armed"]
    assert armed == ["wake", "later"]
    assert _rang(rt, other_id) == ["wake"]


def test_a_timer_message_for_another_actor_is_dead_lettered(rt: Any, sent: Any) -> None:
    actor_id, _ = _armed(rt, sent)
    assert rt.system.activate(actor_id)
    (turn,) = sent
    sent.clear()
    _, (_, token), _ = turn
    other = Message(kind="ring", actor_id="alarm-someone-else", payload={"name": "x"})
    _run(rt, (WAKE_TASK_NAME, [[[actor_id, token, other.encode(), "t"], "not a turn"]], {}))
    assert _rang(rt, actor_id) == []
    reasons = [d["reason"] for d in rt.system.dead_letters.list(actor_id=actor_id)]
    assert any("alarm-someone-else" in r for r in reasons)
    assert any("not [actor, token, message, timer]" in d["reason"]
               for d in rt.system.dead_letters.list(queue=WAKE_TASK_NAME))


def test_a_burst_is_cut_into_wake_tasks(rt: Any, sent: Any) -> None:
    armed = [_armed(rt, sent, name="burst") for _ in range(WAKE_BATCH + 3)]
    timers = _claim_all(rt, [timer_id for _, timer_id in armed])
    pool_size, rt.system.pool_size = rt.system.pool_size, 2
    try:
        rt.system.deliver_timers(timers[:1])  # one timer, two processes: one task
        assert [len(task[1][0]) for task in sent] == [1]
        rt.system.deliver_timers(timers[1:3])  # two timers: one each
        assert [len(task[1][0]) for task in sent[1:]] == [1, 1]
        rt.system.deliver_timers(timers[3:])  # WAKE_BATCH: one task would be too many
        assert [len(task[1][0]) for task in sent[3:]] == [WAKE_BATCH // 2, WAKE_BATCH // 2]
    finally:
        rt.system.pool_size = pool_size
    while sent:
        _run(rt, sent.pop(0))
    assert all(_rang(rt, actor_id) == ["burst"] for actor_id, _ in armed)
