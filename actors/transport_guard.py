# Kombu ships type hints for few of its functions; calls into it are not
# held to --strict (everything else in this module is).
# mypy: untyped-calls-exclude=kombu
"""A Kombu connection whose Redis channels read any bytes from a queue without dying.

Why: on Kombu's Redis transport a queue is a Redis list of JSON *envelopes*
(headers, properties, a body that may be base64). The channel parses an envelope
the moment it pops it, before Celery (or our mailbox) sees a message: an entry
that is not JSON, not an envelope, or whose base64 body is broken raises out of
Kombu's read (``_brpop_read``/``_get``), through Celery's event loop, and the
worker stops ("Unrecoverable error", exit status 0). The entry was already popped,
so it vanished with the worker.

The guard is at that mechanism: the channel's Redis client vets every entry it
pops from a queue (``BRPOP`` for consumers, ``RPOP`` for ``basic_get``) by doing
exactly what Kombu will do next — parse the JSON and build the channel's
``Message`` — and hands an entry that fails to the process's dead-letter sink
(``route_dead_letters``) instead of to Kombu, which then sees an empty read and
goes on. What Kombu can parse but Celery cannot run is the task consumer's
business (``actors.task_consumer``).

``GuardedConnection`` is a ``kombu.Connection`` that uses a guarded subclass of
whatever Redis transport it would have used (Kombu's own, or one configured with
``broker_transport``); other transports (AMQP) pass unchanged: their brokers
deliver any bytes as a message body, which the task consumer handles.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from kombu.connection import Connection
from kombu.transport import redis as kombu_redis
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import loads as kombu_loads

from . import log as _log
from . import redis_transport

#: ``sink(queue, raw, reason)``: where a process sends what it could not read.
DeadLetterSink = Callable[[str, bytes, str], None]

#: How much of an unreadable entry a log line shows when no sink could take it.
LOG_PREFIX = 200

logger = _log.get_logger("actors.transport_guard")

_sink: DeadLetterSink | None = None


def route_dead_letters(sink: DeadLetterSink | None) -> None:
    """Send what this process's queues could not read to ``sink`` (one per process:
    the actor system's dead letters)."""
    global _sink
    _sink = sink


def dead_letter(queue: str, raw: bytes, reason: str) -> None:
    """Hand ``raw`` to the sink; if there is none or it fails (Redis down), say so in the
    log with a prefix of the bytes: the entry is gone from its queue either way."""
    try:
        if _sink is None:
            raise RuntimeError("no dead-letter sink in this process")
        _sink(queue, raw, reason)
        logger.error("unreadable queue entry set aside as a dead letter", queue=queue,
                     reason=reason, size=len(raw))
    except Exception as exc:
        logger.error("unreadable queue entry dropped: the dead letters could not take it",
                     queue=queue, reason=reason, error=repr(exc),
                     raw=raw[:LOG_PREFIX].decode("utf-8", "replace"))


class _VettingClient:
    """Mixed into the channel's redis-py client class: vets what a queue read returns."""

    def __init__(self, *args: Any, vet: Callable[[bytes, bytes | str], bool],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._vet = vet

    def parse_response(self, connection: Any, command_name: Any, **options: Any) -> Any:
        response = super().parse_response(connection, command_name, **options)  # type: ignore[misc]
        if command_name == "BRPOP" and response:
            key, item = response
            if not self._vet(item, key):
                return None  # Kombu reads "nothing this time" and polls again
        return response

    def rpop(self, name: Any, count: int | None = None) -> Any:
        item = super().rpop(name, count)  # type: ignore[misc]
        if count is None and item is not None and not self._vet(item, name):
            return None
        return item


class _VettingChannel:
    """Mixed into a Kombu Redis channel class: its clients vet queue entries."""

    def _get_client(self) -> Any:
        base = super()._get_client()  # type: ignore[misc]
        cls = getattr(base, "func", base)  # a partial when Kombu prefixes keys
        return functools.partial(_vetting(cls), vet=self._vet_entry,
                                 **getattr(base, "keywords", {}))

    def _vet_entry(self, item: bytes, key: bytes | str) -> bool:
        """True if Kombu can turn ``item`` into a message; else it is dead-lettered."""
        try:
            self.Message(kombu_loads(bytes_to_str(item)), channel=self)  # type: ignore[attr-defined]
            return True
        except Exception as exc:  # any entry Kombu cannot parse, however it fails
            queue = bytes_to_str(key).rsplit(self.sep, 1)[0]  # type: ignore[attr-defined]
            raw = item if isinstance(item, bytes) else str(item).encode()
            dead_letter(queue, raw, f"not a Kombu message envelope: "
                                    f"{type(exc).__name__}: {str(exc)[:300]}")
            return False


@functools.cache
def _vetting(client_cls: type) -> type:
    return type(f"Vetting{client_cls.__name__}", (_VettingClient, client_cls), {})


@functools.cache
def guarded(transport_cls: type) -> type:
    """A subclass of a Redis ``transport_cls`` whose channels vet what they read; any
    other transport class unchanged."""
    if not (isinstance(transport_cls, type) and issubclass(transport_cls, kombu_redis.Transport)):
        return transport_cls
    channel = type(f"Guarded{transport_cls.Channel.__name__}",
                   (_VettingChannel, transport_cls.Channel), {})
    return type(f"Guarded{transport_cls.__name__}", (transport_cls,), {"Channel": channel})


class GuardedConnection(Connection):
    """A ``kombu.Connection`` whose Redis channels survive unreadable queue entries."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        #: the transport named at construction, which Kombu forgets for a URL whose
        #: scheme names one (``redis+socket://``): see ``_named_over_url``
        self._named_transport = kwargs.get("transport")
        Connection.__init__(self, *args, **kwargs)

    def get_transport_cls(self) -> type:
        return guarded(self._named_over_url(Connection.get_transport_cls(self)))

    def _named_over_url(self, transport_cls: type) -> type:
        """The transport named at construction (Celery's ``broker_transport``: our
        ``actors.redis_transport``) where the URL's ``redis+socket://`` prefix made
        Kombu take its own Redis transport instead: a worker reaching Redis by a Unix
        socket still exited after a Redis restart ('NoneType' object has no attribute
        'hostname'), the failure that transport exists to prevent (seen in the chaos
        run, whose partitioned workers reach Redis by a socket)."""
        named = getattr(self, "_named_transport", None)
        if transport_cls is kombu_redis.Transport and named == redis_transport.TRANSPORT_PATH:
            return redis_transport.Transport
        return transport_cls

    def switch(self, conn_str: str) -> None:
        """Fail over to the next URL of a ``url1;url2`` list, keeping a transport named at
        construction (Celery's ``broker_transport``): Kombu's own ``switch`` takes the
        transport from the new URL's scheme, which would drop ``actors.redis_transport``
        on the first failover between sentinels."""
        named = self._initial_params.get("transport")
        Connection.switch(self, conn_str)
        if isinstance(named, type) or (isinstance(named, str) and (":" in named or "." in named)):
            self.transport_cls = named  # a class or a class path, not a scheme
