"""A queued turn whose task was lost on its way is taken over at its first check.

A turn that is queued holds its actor's flag for the queued lease (30 s; a first turn
60 s), so that a deep queue does not look like a dead turn. Its task could still be lost
on the way (the sender SIGKILLed between taking the flag and publishing; a worker
SIGKILLed between the broker's pop and its ``unacked`` write): the chaos run saw runs
stand still 30 and 60 s that way. Recovery now looks at a queued turn after
``queued_check_ms`` (10 s) and, when no queue its task could be in holds a task of the
actor, takes it over there and then (a busy queue holding others' tasks does not hide a
lost one); when one may hold it, it waits, and without a queue reader it keeps the old
lease.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from actors.recovery import _recover_one
from pyworkflow.worker.broker_backlog import TEXT_MAX_TASKS, BrokerBacklog, level_lists

pytestmark = pytest.mark.redis


@pytest.fixture
def queued(rt: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """An actor whose queued turn's task is nowhere: flag held for the queued lease by a
    token whose task was never sent, recovery due now. Turns recovery would queue are
    recorded, not sent."""
    system = rt.system
    actor_id = f"lost-{uuid.uuid4().hex[:8]}"
    keys = system.actor_keys(actor_id)
    index = system.keys.lease_index_of(actor_id)
    system.redis.set(keys.activation, "queued-token", px=system.queued_lease_ms)
    system.redis.zadd(index, {actor_id: time.time() * 1000})
    restarted: list[tuple[str, str]] = []
    monkeypatch.setattr(system, "restart_turn",
                        lambda actor, token: restarted.append((actor, token)))
    yield {"system": system, "actor_id": actor_id, "keys": keys, "index": index,
           "restarted": restarted}
    system.redis.delete(keys.activation, keys.meta)
    system.redis.zrem(index, actor_id)


@pytest.mark.parametrize("waiting", ["", "a turn task of run-someone-else"])
def test_a_queued_turn_whose_task_is_in_no_queue_is_taken_over(
        queued: dict[str, Any], monkeypatch: pytest.MonkeyPatch, waiting: str) -> None:
    system, actor_id = queued["system"], queued["actor_id"]
    monkeypatch.setattr(system, "queue_text", lambda queue: waiting)
    assert _recover_one(system, queued["index"], actor_id, {}) == 1
    token = system.redis.get(queued["keys"].activation)
    assert token not in (None, b"queued-token")
    assert queued["restarted"] == [(actor_id, token.decode())]


@pytest.mark.parametrize("held", ["its own", "too long to read"])
def test_a_queued_turn_whose_task_may_be_queued_keeps_its_flag_and_is_looked_at_again(
        queued: dict[str, Any], monkeypatch: pytest.MonkeyPatch, held: str) -> None:
    system, actor_id = queued["system"], queued["actor_id"]
    asked: list[str | None] = []

    def text(queue: str | None) -> str | None:
        asked.append(queue)
        return f"... [{actor_id!r}, 'queued-token'] ..." if held == "its own" else None

    monkeypatch.setattr(system, "queue_text", text)
    before = time.time() * 1000
    assert _recover_one(system, queued["index"], actor_id, {}) == 0
    assert asked  # the reader was asked
    assert system.redis.get(queued["keys"].activation) == b"queued-token"
    assert queued["restarted"] == []
    score = system.redis.zscore(queued["index"], actor_id)
    # next look at the next check, not at the end of the 30 s lease
    assert score is not None and before + system.queued_check_ms - 1000 <= score \
        <= time.time() * 1000 + system.queued_check_ms + 1


def test_without_a_queue_reader_a_queued_turn_keeps_its_lease(
        queued: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    system, actor_id = queued["system"], queued["actor_id"]
    monkeypatch.setattr(system, "queue_text", None)
    assert _recover_one(system, queued["index"], actor_id, {}) == 0
    assert system.redis.get(queued["keys"].activation) == b"queued-token"
    score = system.redis.zscore(queued["index"], actor_id)
    assert score is not None and score > time.time() * 1000 + system.queued_check_ms


@pytest.mark.parametrize("state", ["running-lease", "running-mark"])
def test_a_turn_that_began_is_never_taken_over_early(
        queued: dict[str, Any], monkeypatch: pytest.MonkeyPatch, state: str) -> None:
    """A running turn holds a lease of ``lease_ms`` at most, and its task marks the
    actor 'running': either one keeps the forced takeover away."""
    system, actor_id, keys = queued["system"], queued["actor_id"], queued["keys"]
    if state == "running-lease":
        system.redis.pexpire(keys.activation, system.lease_ms)
    else:
        system.redis.hset(keys.meta, "running", "queued-token")
    monkeypatch.setattr(system, "queue_text", lambda queue: "")
    assert _recover_one(system, queued["index"], actor_id, {}) == 0
    assert system.redis.get(keys.activation) == b"queued-token"
    assert queued["restarted"] == []


def test_the_backlog_counts_every_priority_level(rt: Any) -> None:
    queue = f"backlog-{uuid.uuid4().hex[:8]}"
    lists = level_lists(queue)
    try:
        rt.redis.lpush(lists[0], "a", "b")
        rt.redis.lpush(lists[7], "c")
        rt.redis.lpush(lists[-1], "d")
        backlog = BrokerBacklog(rt.redis, queue)
        assert backlog(queue) == 4
        assert backlog(None) == 4  # the turn queue
        assert backlog(queue + "-other") == 0
    finally:
        rt.redis.delete(*lists)


def test_the_queue_text_holds_a_real_turn_tasks_arguments_and_stops_when_long(rt: Any) -> None:
    """A turn task published as a worker publishes it (Celery, Kombu's envelope, a base64
    body) is found by its actor id; a queue past TEXT_MAX_TASKS is not read."""
    from actors.task_names import TURN_TASK_NAME

    queue = f"text-{uuid.uuid4().hex[:8]}"
    actor_id = f"run-{uuid.uuid4().hex[:20]}"
    reader = BrokerBacklog(rt.redis, queue)
    try:
        assert reader.text(queue) == ""
        rt.celery.send_task(TURN_TASK_NAME, args=[actor_id, "tok"], queue=queue)
        text = reader.text(None)
        assert text is not None and actor_id in text and "run-other" not in text
        rt.redis.lpush(level_lists(queue)[3], *[b"x"] * TEXT_MAX_TASKS)
        assert reader.text(queue) is None
    finally:
        rt.redis.delete(*level_lists(queue))
