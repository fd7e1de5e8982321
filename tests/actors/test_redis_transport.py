"""Which Kombu transport a worker's broker connection gets.

``actors.redis_transport`` keeps a worker alive through a Redis restart (its module
docstring says how Kombu's own transport made the worker exit). A broker reached by a
Unix socket (``redis+socket://``) names Kombu's transport in the URL itself, and Kombu
then keeps that one over the transport Celery's ``broker_transport`` names: such a
worker exited after a Redis restart in the chaos run (whose partitioned workers reach
Redis by a socket). Building a connection connects to nothing, so no Redis is needed.
"""

from __future__ import annotations

import pytest
from celery import Celery

from actors import redis_transport
from actors.task_consumer import guard


def _broker_transport(url: str) -> type:
    app = Celery("transport-check", broker=url)
    guard(app)
    path = redis_transport.transport_path(url)
    if path is not None:
        app.conf.broker_transport = path
    with app.connection_for_read() as conn:
        return type(conn.transport)


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://127.0.0.1:6380/0",
                                 "redis+socket:///tmp/pyworkflow-test.sock"])
def test_a_redis_broker_gets_the_transport_that_survives_restarts(url: str) -> None:
    assert issubclass(_broker_transport(url), redis_transport.Transport)


def test_other_brokers_keep_their_own_transport() -> None:
    transport = _broker_transport("amqp://guest:guest@127.0.0.1:5672//")
    assert not issubclass(transport, redis_transport.Transport)
    assert redis_transport.transport_path("amqp://guest@127.0.0.1//") is None
