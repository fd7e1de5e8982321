"""Kombu's Redis transport, kept usable after its connection lets go of it.

Why this exists: a Celery worker on the Redis broker used to exit (status 0,
"Unrecoverable error: AttributeError: 'NoneType' object has no attribute
'hostname'") after a Redis restart. The sequence, in Kombu 5.x and Celery 5.x:

1. the consumer's event loop reads a socket Redis closed: ``ConnectionError``;
2. Celery's ``on_connection_error_after_connected`` calls ``connection.collect()``,
   which closes the default channel: a channel still waiting on its BRPOP reads
   the dead socket first, fails with ``ConnectionError`` (swallowed) and stays
   open; ``collect`` then detaches the transport anyway (``transport.client =
   None``);
3. Celery then calls ``connection.close()``, which closes that channel again: the
   channel has dropped its connection pool, and requeueing the messages it had
   delivered but not acknowledged (tasks in flight, prefetched tasks) builds a new
   pool from ``transport.client``, which is now ``None``: ``AttributeError``.
   Celery only treats connection errors as recoverable, so the consumer dies and
   with it the worker.

It needs tasks in flight on that channel and a BRPOP pending at the moment the
socket dies, hence "sometimes". The same detached transport also broke the late
acknowledgement of a task that finishes after the reconnection (its message
belongs to the old channel).

The fix is at that mechanism: this transport remembers the connection
parameters it was created with, so a channel whose transport was detached can
still reach Redis. Its last requeue then either succeeds (Redis is back) or fails
with a ``ConnectionError``, which Celery ignores as it reconnects; an
acknowledgement after the reconnection reaches Redis as it should.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from kombu.transport import redis as kombu_redis

#: The URL schemes this transport serves. ``redis+socket://`` (a Unix socket) names
#: Kombu's transport in the URL itself, which Kombu then keeps over the one Celery's
#: ``broker_transport`` names: ``transport_guard.GuardedConnection`` puts this one back.
SCHEMES = ("redis", "rediss", "redis+socket")

#: What Celery's ``broker_transport`` setting names to use it.
TRANSPORT_PATH = "actors.redis_transport:Transport"

#: The same for Kombu's ``sentinel://`` transport (a failover is a restart, seen
#: from the consumer's socket).
SENTINEL_TRANSPORT_PATH = "actors.redis_transport:SentinelTransport"


class _KeepsClient:
    """Mixed into a Kombu Redis transport: its ``client`` (the connection parameters)
    survives the ``kombu.Connection`` detaching it on close or collect."""

    _client: Any = None

    @property
    def client(self) -> Any:
        return self._client

    @client.setter
    def client(self, value: Any) -> None:
        if value is not None:  # a detached transport keeps where it was connected to
            self._client = value


class _ReusesClient:
    """Mixed into a Kombu Redis channel: one redis-py client per channel and connection
    pool, instead of a new one for every publish. Kombu builds a ``redis.Redis`` (and
    its table of response callbacks) for each message it puts: about 0.1 ms of a
    step's time. The client holds no connection of its own (the pool does), and a new
    pool after a reconnection gets a new client."""

    _reused: Any = None
    _reused_pool: Any = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        if client:
            yield client
            return
        pool = self.pool  # type: ignore[attr-defined]
        if self._reused is None or self._reused_pool is not pool:
            self._reused = self._create_client()  # type: ignore[attr-defined]
            self._reused_pool = pool
        yield self._reused


#: The highest message priority a channel keeps apart: Kombu's virtual channel clamps
#: at 9, and a queue may have more levels than that (its ``priority_steps``); a priority
#: past the last step lands on the last step.
MAX_PRIORITY = 255


class Channel(_ReusesClient, kombu_redis.Channel):
    """Kombu's Redis channel, reusing its client (see ``_ReusesClient``), with as many
    priority levels as its ``priority_steps`` say (see ``MAX_PRIORITY``)."""

    max_priority = MAX_PRIORITY


class SentinelChannel(_ReusesClient, kombu_redis.SentinelChannel):
    """Kombu's Redis Sentinel channel, reusing its client (see ``_ReusesClient``), with
    as many priority levels as its ``priority_steps`` say (see ``MAX_PRIORITY``)."""

    max_priority = MAX_PRIORITY


class Transport(_KeepsClient, kombu_redis.Transport):
    """Kombu's Redis transport, kept usable after its connection lets go of it."""

    Channel = Channel


class SentinelTransport(_KeepsClient, kombu_redis.SentinelTransport):
    """Kombu's Redis Sentinel transport, kept usable after its connection lets go of it."""

    Channel = SentinelChannel


def serves(broker_url: str) -> bool:
    """Whether ``broker_url`` is a broker this transport can stand in for."""
    return urlsplit(broker_url).scheme.lower() in SCHEMES


def transport_path(broker_url: str) -> str | None:
    """What Celery's ``broker_transport`` should name for ``broker_url`` (a Kombu URL,
    maybe a ``;`` list), or None for a broker these transports do not serve."""
    scheme = urlsplit(broker_url.split(";", 1)[0]).scheme.lower()
    if scheme in SCHEMES:
        return TRANSPORT_PATH
    return SENTINEL_TRANSPORT_PATH if scheme == "sentinel" else None
