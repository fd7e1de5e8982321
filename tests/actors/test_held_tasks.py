"""Putting back the task messages a dead worker held (``actors.held_tasks``).

Real Redis, real Kombu: a message is fetched without an acknowledgement (as a worker
that then dies would leave it, in Kombu's ``unacked`` hash) and the pass must put it
back in its queue within seconds, but never one a live worker lists, never another
app's, and only once when two workers look at the same time.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kombu import Connection, Exchange, Queue

from actors.held_tasks import GRACE_S, HOLDER_STALE_S, HeldTasks
from tests._workers import wait_for

pytestmark = [pytest.mark.redis]


class Broker:
    """One Kombu connection on the suite's Redis, with a queue of our own and one of
    "another app"."""

    def __init__(self, url: str, prefix: str) -> None:
        self.conn = Connection(url)
        self.ours = f"{prefix}.steps"
        self.theirs = f"other-app-{prefix}"
        self.channel = self.conn.channel()
        for name in (self.ours, self.theirs):
            Queue(name, Exchange(name, "direct"), routing_key=name)(self.channel).declare()

    def publish(self, queue: str, body: dict[str, Any]) -> None:
        with self.conn.Producer() as producer:
            producer.publish(body, exchange=queue, routing_key=queue, serializer="json")

    def take(self, queue: str) -> Any:
        """Fetch one message unacknowledged, as a worker does (late acks)."""
        message = self.channel.basic_get(queue, no_ack=False)
        assert message is not None
        return message

    def size(self, queue: str) -> int:
        return int(self.channel.client.llen(queue))

    def close(self) -> None:
        self.channel.close()
        self.conn.release()


@pytest.fixture
def broker(redis_env: dict[str, str]) -> Iterator[Broker]:
    prefix = f"{redis_env['PYWORKFLOW_KEY_PREFIX']}-{uuid.uuid4().hex[:6]}"
    b = Broker(redis_env["PYWORKFLOW_REDIS_URL"], prefix)
    yield b
    b.close()


def holder(broker: Broker, name: str, tags: list[str] | None = None) -> HeldTasks:
    import redis

    client = redis.Redis.from_url(broker.conn.as_uri(include_password=True))
    key = f"{broker.ours}:{{heldtasks}}"
    return HeldTasks(client, key, name, broker.ours.rsplit(".", 1)[0] + ".",
                     lambda: broker.channel, reserved=lambda: list(tags or []))


def test_a_message_no_live_worker_holds_is_put_back_once(broker: Broker) -> None:
    broker.publish(broker.ours, {"n": 1})
    lost = broker.take(broker.ours)
    assert broker.size(broker.ours) == 0
    a, b = holder(broker, "a"), holder(broker, "b")
    started = time.monotonic()

    def a_pass() -> int:
        a.publish()
        b.publish()
        return a.put_back() + b.put_back()  # both look: it goes back once

    put = wait_for(lambda: a_pass() or None, 15, 0.25, "the lost message to be put back")
    took = time.monotonic() - started
    assert put == 1
    assert broker.size(broker.ours) == 1
    assert broker.take(broker.ours).payload == lost.payload
    assert GRACE_S <= took < GRACE_S + 5, took


def test_a_message_a_live_worker_holds_stays(broker: Broker) -> None:
    broker.publish(broker.ours, {"n": 2})
    held = broker.take(broker.ours)
    live = holder(broker, "live", [str(held.delivery_tag)])
    looker = holder(broker, "looker")
    deadline = time.monotonic() + GRACE_S + 3
    while time.monotonic() < deadline:
        live.publish()
        looker.publish()
        assert looker.put_back() == 0
        time.sleep(0.25)  # the passes' own pace (a maintenance loop runs every second)
    assert broker.size(broker.ours) == 0
    held.ack()


def test_a_dead_workers_messages_come_back_and_other_apps_stay(broker: Broker) -> None:
    broker.publish(broker.ours, {"n": 3})
    broker.publish(broker.theirs, {"n": 4})
    ours, theirs = broker.take(broker.ours), broker.take(broker.theirs)
    dead = holder(broker, "dead", [str(ours.delivery_tag), str(theirs.delivery_tag)])
    looker = holder(broker, "looker")
    dead.publish()  # then it dies: its counter never moves again
    started = time.monotonic()

    def a_pass() -> int:
        looker.publish()
        return looker.put_back()

    assert wait_for(lambda: a_pass() or None, HOLDER_STALE_S + GRACE_S + 10, 0.25,
                    "the dead worker's message to be put back") == 1
    assert time.monotonic() - started >= HOLDER_STALE_S
    assert broker.size(broker.ours) == 1
    assert broker.size(broker.theirs) == 0  # not a queue of this deployment
    theirs.ack()
    broker.take(broker.ours).ack()
