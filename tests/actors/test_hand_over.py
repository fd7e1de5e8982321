"""A message handed over with the turn that handles it (``ActorSystem.deliver_held``).

Against a real Redis, with the turn tasks captured and run here: the message waits
in the actor's in-hand key, not in its mailbox; the turn finds it there; a lost
turn task loses nothing (recovery puts the message in the mailbox); a publish that
fails undoes the hand-over; a busy actor gets the message through its mailbox.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from actors import TURN_TASK_NAME, Message
from actors.recovery import recover_expired

#: a timer armed this far ahead never fires during a test session (whose keys go at
#: its end): it must not fire in a later test's worker, which runs no toy actors
DAY_MS = 86_400_000

def _arm(actor_id: str, name: str) -> Message:
    return Message(kind="arm", actor_id=actor_id, payload={"name": name, "delay_ms": DAY_MS})


def _armed(rt: Any, actor_id: str) -> list[str]:
    return [e.data["name"] for e in rt.system.journal(actor_id).read() if e.type == "armed"]


def _run_all(rt: Any, tasks: list[Any]) -> None:
    while tasks:
        name, args, kwargs = tasks.pop(0)
        rt.celery.tasks[name].run(*args, **kwargs)


def _new_actor() -> str:
    return f"alarm-{uuid.uuid4().hex[:10]}"


def _unindex(rt: Any, actor_id: str) -> None:
    """Drop what these tests leave in the lease index, which recovery would otherwise
    visit in a later test's worker (that does not run the toy actors): a stale turn's
    begin and an undone hand-over leave the entry their activation wrote."""
    rt.redis.zrem(rt.system.keys.lease_index_of(actor_id), actor_id)


def test_the_message_waits_in_hand_and_its_turn_handles_it(
        rt: Any, captured_tasks: Any) -> None:
    actor_id = _new_actor()
    keys = rt.system.actor_keys(actor_id)
    message = _arm(actor_id, "a")
    rt.system.deliver_held(message, before=lambda pipe: pipe.set(keys.record, "x"))
    (task,) = captured_tasks
    assert task[0] == TURN_TASK_NAME and task[2] == {"stored": message.msg_id}
    assert Message.decode(rt.redis.get(keys.inhand)) == message
    assert rt.redis.get(keys.record) == b"x"  # the caller's writes went with it
    assert rt.system.mailbox.size(keys.mailbox) == 0
    _run_all(rt, captured_tasks)
    assert _armed(rt, actor_id) == ["a"]
    assert rt.redis.get(keys.inhand) is None  # the commit took it out of hand
    assert not rt.redis.exists(keys.activation)  # released


def test_a_lost_turn_task_loses_nothing(rt: Any, captured_tasks: Any) -> None:
    actor_id = _new_actor()
    keys = rt.system.actor_keys(actor_id)
    rt.system.deliver_held(_arm(actor_id, "a"))
    lost = captured_tasks.pop()
    # The task never runs: the actor's queued lease runs out and recovery comes.
    rt.redis.delete(keys.activation)
    rt.redis.zadd(rt.system.keys.lease_index_of(actor_id), {actor_id: 0})
    assert recover_expired(rt.system) >= 1
    _run_all(rt, captured_tasks)  # the recovery's turn: the message was put back and handled
    assert _armed(rt, actor_id) == ["a"]
    # The lost task, delivered late after all, is stale and does nothing twice.
    _run_all(rt, [lost])
    assert _armed(rt, actor_id) == ["a"]
    _unindex(rt, actor_id)


def test_a_failed_publish_undoes_the_hand_over(rt: Any, captured_tasks: Any) -> None:
    actor_id = _new_actor()
    keys = rt.system.actor_keys(actor_id)
    previous = rt.system._enqueue

    def broker_down(*_: Any, **__: Any) -> None:
        raise ConnectionError("broker down")

    rt.system.set_enqueue(broker_down)
    try:
        with pytest.raises(ConnectionError):
            rt.system.deliver_held(_arm(actor_id, "a"))
    finally:
        rt.system.set_enqueue(previous)
    assert not rt.redis.exists(keys.activation)
    assert not rt.redis.exists(keys.inhand)
    _unindex(rt, actor_id)


def test_a_busy_actor_gets_it_through_the_mailbox(rt: Any, captured_tasks: Any) -> None:
    actor_id = _new_actor()
    keys = rt.system.actor_keys(actor_id)
    assert rt.system.activate(actor_id)  # a turn queued already
    rt.system.deliver_held(_arm(actor_id, "a"))
    assert len(captured_tasks) == 1  # only that turn
    assert rt.system.mailbox.size(keys.mailbox) == 1
    assert not rt.redis.exists(keys.inhand)
    _run_all(rt, captured_tasks)
    assert _armed(rt, actor_id) == ["a"]


def test_a_turn_finding_no_message_in_hand_is_an_ordinary_turn(
        rt: Any, captured_tasks: Any) -> None:
    actor_id = _new_actor()
    keys = rt.system.actor_keys(actor_id)
    rt.system.deliver_held(_arm(actor_id, "a"))
    name, args, kwargs = captured_tasks.pop()
    # Someone put the message in the mailbox meanwhile (as a takeover would).
    rt.system.mailbox.put(keys.mailbox, Message.decode(rt.redis.getdel(keys.inhand)))
    _run_all(rt, [(name, args, kwargs)])
    assert _armed(rt, actor_id) == ["a"]
