"""A worker survives any bytes in its task queues: poison is dead-lettered, work goes on.

Each poison entry is pushed straight into the Redis list Kombu reads (turns and steps
queues alike) while real ``pyworkflow worker run`` processes consume them. Before
the fix each one stopped the worker ("Unrecoverable error", exit status 0), and the
string-body task message stayed in the queue to stop the next worker too.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors import TURN_TASK_NAME
from tests._workers import PYWORKFLOW, REPO, Worker, wait_for, worker_pool

MODULE = "tests.toy_actors"


def _envelope(queue: str, body: str, task: str = TURN_TASK_NAME) -> dict[str, Any]:
    """A Kombu Redis-transport envelope of a Celery (protocol 2) task message."""
    return {
        "body": body, "content-type": "application/json", "content-encoding": "utf-8",
        "headers": {"lang": "py", "task": task, "id": uuid.uuid4().hex, "argsrepr": "",
                    "kwargsrepr": ""},
        "properties": {"body_encoding": "base64", "delivery_tag": uuid.uuid4().hex,
                       "delivery_mode": 2, "priority": 0,
                       "delivery_info": {"exchange": "", "routing_key": queue}},
    }


def _poison(kind: str, queue: str, marker: str) -> bytes:
    if kind == "not-json":
        return f"not json at all {marker}".encode()
    if kind == "bad-base64":
        return json.dumps({**_envelope(queue, "!!!not base64"), "marker": marker}).encode()
    if kind == "string-body":  # JSON, but the body is a string, not [args, kwargs, embed]
        body = base64.b64encode(json.dumps(f"a string {marker}").encode()).decode()
        return json.dumps(_envelope(queue, body)).encode()
    if kind == "unknown-task":
        body = base64.b64encode(json.dumps([[marker], {}, {}]).encode()).decode()
        return json.dumps(_envelope(queue, body, task="no.such.task")).encode()
    if kind == "bad-arguments":  # a well-formed turn task without its lease token
        body = base64.b64encode(json.dumps([[marker], {}, {}]).encode()).decode()
        return json.dumps(_envelope(queue, body)).encode()
    raise AssertionError(kind)


POISON = ["not-json", "bad-base64", "string-body", "unknown-task", "bad-arguments"]


@pytest.fixture(scope="module")
def workers(rt, log_dir: Path) -> Iterator[list[Worker]]:  # type: ignore[no-untyped-def]
    with worker_pool(MODULE, log_dir, "poison", count=1, pool="threads", concurrency=2) as pool:
        yield pool


def _letters_with(rt, marker: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return [d for d in rt.system.dead_letters.list(10_000) if marker in d["raw"]]


@pytest.mark.parametrize("queue_kind", ["turns", "steps"])
@pytest.mark.parametrize("kind", POISON)
def test_poison_task_message_is_dead_lettered_and_the_worker_goes_on(  # type: ignore[no-untyped-def]
        rt, workers, kind: str, queue_kind: str) -> None:
    (worker,) = workers
    queue = rt.queues[queue_kind]
    marker = uuid.uuid4().hex
    rt.redis.lpush(queue, _poison(kind, queue, marker))

    (letter,) = wait_for(lambda: _letters_with(rt, marker), 15, 0.05, f"{kind} dead-lettered")
    assert letter["queue"] == queue
    assert letter["reason"], letter
    assert worker.alive(), worker.log_text()[-3000:]
    assert rt.redis.llen(queue) == 0  # nothing left to poison the next worker
    # The worker still works: a message to an actor is handled.
    actor_id = f"account-{uuid.uuid4().hex[:8]}"
    rt.system.send(actor_id, "deposit", {"amount": 3})
    wait_for(lambda: rt.system.journal(actor_id).last_seq() >= 1, 15, 0.05, "a deposit")
    assert worker.alive()
    assert len(_letters_with(rt, marker)) == 1


def test_a_worker_starts_on_a_queue_that_holds_poison(  # type: ignore[no-untyped-def]
        rt, log_dir: Path) -> None:
    """What a supervisor's restart meets: poison already waiting in both queues."""
    markers = {}
    for queue_kind in ("turns", "steps"):
        for kind in POISON:
            queue = rt.queues[queue_kind]
            markers[(queue_kind, kind)] = marker = uuid.uuid4().hex
            rt.redis.lpush(queue, _poison(kind, queue, marker))
    worker = Worker(MODULE, log_dir, "poison-start", pool="prefork", concurrency=1).start()
    try:
        for (queue_kind, kind), marker in markers.items():
            wait_for(lambda m=marker: _letters_with(rt, m), 20, 0.1,  # type: ignore[misc]
                     f"{kind} in {queue_kind} dead-lettered")
        actor_id = f"account-{uuid.uuid4().hex[:8]}"
        rt.system.send(actor_id, "deposit", {"amount": 1})
        wait_for(lambda: rt.system.journal(actor_id).last_seq() >= 1, 20, 0.05, "a deposit")
        assert worker.alive(), worker.log_text()[-3000:]
        assert "Unrecoverable error" not in worker.log_text()
    finally:
        worker.stop()


def test_operators_list_dead_letters_as_json(rt, workers) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    queue = rt.queues["steps"]
    marker = uuid.uuid4().hex
    rt.redis.lpush(queue, _poison("not-json", queue, marker))
    wait_for(lambda: _letters_with(rt, marker), 15, 0.05, "a dead letter")
    proc = subprocess.run([PYWORKFLOW, "--output", "json", "dead-letters", "list", "--queue",
                           queue, "--limit", "1000"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    (mine,) = [d for d in json.loads(proc.stdout) if marker in d["raw"]]
    assert mine["queue"] == queue
    assert mine["reason"].startswith("not a Kombu message envelope: JSONDecodeError")
    assert mine["size"] == len(f"not json at all {marker}")
    assert mine["truncated"] is False
