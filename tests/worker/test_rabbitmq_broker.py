"""The mailbox on another Kombu transport: RabbitMQ as broker, journals in Redis.

Runs only where RabbitMQ answers on 127.0.0.1:5672 (the project must not need it).
This is the generic Kombu path of the mailbox (basic_get, delivery tags, broker
requeue), which the Redis-broker tests do not exercise.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import pyworkflow
from actors.transport_guard import route_dead_letters
from pyworkflow.worker import _runtime
from tests._workers import Worker, wait_for
from tests.cli.test_examples_cli import wait_done

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"


def _rabbit_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=0.3):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _rabbit_answers(), reason="no RabbitMQ on 127.0.0.1:5672")


@pytest.fixture(scope="module")
def amqp_workers(redis_env: dict[str, str], log_dir: Path) -> Iterator[list[Worker]]:
    os.environ["PYWORKFLOW_BROKER_URL"] = AMQP_URL
    previous = _runtime._runtime
    _runtime._runtime = None
    pool = [Worker("tests.toy_and_examples", log_dir, f"amqp{i}", pool="threads",
                   concurrency=4, extra_env={"PYWORKFLOW_BROKER_URL": AMQP_URL}).start(wait=False)
            for i in range(2)]
    try:
        for w in pool:
            w.wait_ready()
        import examples.celery.durable  # noqa: F401
        import tests.toy_actors  # noqa: F401

        assert not _runtime.runtime().system.mailbox_in_redis
        yield pool
    finally:
        for w in pool:
            w.stop()
        os.environ.pop("PYWORKFLOW_BROKER_URL", None)
        _runtime._runtime = previous
        if previous is not None:  # dead letters go to this session's Redis again
            route_dead_letters(previous.system.dead_letter_from_queue)


def _send(env: dict[str, str], actor_id: str, start: int, count: int) -> None:
    os.environ.update(env)
    import tests.toy_actors  # noqa: F401

    system = _runtime.runtime().system
    for i in range(start, start + count):
        system.send(actor_id, "deposit", {"amount": 1, "ref": i}, msg_id=f"d-{i}")


def test_order_workflow_runs_with_a_rabbitmq_broker(amqp_workers) -> None:  # type: ignore[no-untyped-def]
    run_id = pyworkflow.start("order_workflow", "order-amqp", 10.0)
    final = wait_done(run_id, 60)
    assert final["status"] == "completed", final
    assert final["result"]["payment"]["charged"] == 10.0


def test_actor_messages_apply_once_over_rabbitmq(amqp_workers, redis_env) -> None:  # type: ignore[no-untyped-def]
    import tests.toy_actors  # noqa: F401

    actor_id = f"account-{uuid.uuid4().hex[:8]}"
    env = {**redis_env, "PYWORKFLOW_BROKER_URL": AMQP_URL}
    ctx = multiprocessing.get_context("spawn")
    senders = [ctx.Process(target=_send, args=(env, actor_id, i * 100, 100)) for i in range(2)]
    for p in senders:
        p.start()
    for p in senders:
        p.join(120)
        assert p.exitcode == 0
    journal = _runtime.runtime().system.journal(actor_id)
    wait_for(lambda: journal.last_seq() >= 200, 60, 0.2, "200 deposits")
    events = list(journal.iter_all())
    assert [e.seq for e in events] == list(range(1, 201))
    assert sorted(e.data["ref"] for e in events) == list(range(200))
