# Kombu ships type hints for few of its functions; calls into it are not
# held to --strict (everything else in this module is).
# mypy: untyped-calls-exclude=kombu
"""The mailbox: one Kombu queue per actor, on the default exchange.

On the default exchange the routing key is the queue name, so on the Redis
transport a mailbox is one list that exists only while messages wait, and a
publish costs no binding lookup (MEASURED.md). Nothing here assumes Redis where
Kombu has an abstraction: on AMQP the same code declares the queue and lets the
broker requeue what a dead consumer held.

Messages are taken with ``no_ack=False``: a message stays owned by the broker
until the turn that took it has committed its effects. On the Redis transport an
unacknowledged message waits in Kombu's ``unacked`` hash until someone restores it
by delivery tag, so turns record their tags (see ``kombu_reader``) and recovery restores
them: nothing waits for a visibility timeout.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable
from typing import Any

from kombu.connection import Connection
from kombu.entity import Queue
from kombu.message import Message as KombuMessage
from kombu.messaging import Producer

from .keys import GlobalKeys
from .message import Message
from .sentinel import kombu_form
from .transport_guard import GuardedConnection

#: How long a taken-but-unacknowledged mailbox message may sit before the periodic
#: sweep (every 30 s) puts it back. Only a safety net: recovery restores a dead turn's
#: messages by tag within seconds; this catches a turn killed between taking a message
#: and recording its tag. Well above a batch's time (a turn chains after 2 s); a copy
#: put back while its turn still holds the message is dropped as already seen.
MAILBOX_VISIBILITY_TIMEOUT_S = 60


class Mailbox:
    """Puts messages into actors' queues and takes them out, one Kombu connection per thread."""

    def __init__(self, broker_url: str, global_keys: GlobalKeys) -> None:
        self._url = broker_url
        self._keys = global_keys
        self._local = threading.local()

    # -- connection per thread (Kombu connections are not thread-safe), reset after fork
    def _connection(self) -> Connection:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.pid = os.getpid()
            keys = self._keys
            url, options = kombu_form(self._url)  # a sentinel URL: Kombu's form and options
            local.conn = GuardedConnection(url, transport_options={
                **options,
                "unacked_key": keys.mailbox_unacked,
                "unacked_index_key": keys.mailbox_unacked_index,
                "unacked_mutex_key": keys.mailbox_unacked_mutex,
                "visibility_timeout": MAILBOX_VISIBILITY_TIMEOUT_S,
                "priority_steps": [0],
            })
            local.declared = set()
        return local.conn  # type: ignore[no-any-return]

    def _channel(self) -> Any:
        return self._connection().default_channel

    @property
    def _needs_declare(self) -> bool:
        # The Redis transport needs no declaration on the default exchange; AMQP drops
        # messages routed to a queue that does not exist yet.
        return bool(self._connection().transport.driver_type != "redis")

    @staticmethod
    def queue_for(queue_name: str) -> Queue:
        return Queue(queue_name, exchange="", routing_key=queue_name, durable=True,
                     auto_delete=False)

    def put(self, queue_name: str, message: Message) -> None:
        conn = self._connection()
        channel = conn.default_channel
        declare: list[Queue] = []
        if self._needs_declare and queue_name not in self._local.declared:
            declare = [self.queue_for(queue_name)]
            self._local.declared.add(queue_name)
        # The msg_id in the headers lets a Redis-list take check redelivery in its own
        # script (``take.lua``); the body stays the truth.
        Producer(channel).publish(
            message.encode(), exchange="", routing_key=queue_name,
            content_type="application/json", content_encoding="utf-8",
            delivery_mode=2, declare=declare, retry=True, headers={"msg_id": message.msg_id},
        )

    def put_raw(self, queue_name: str, body: bytes | str,
                content_type: str = "application/json") -> None:
        """Publish an arbitrary body: for tests and tools that must exercise dead-lettering."""
        Producer(self._channel()).publish(
            body, exchange="", routing_key=queue_name, content_type=content_type,
            content_encoding="utf-8" if isinstance(body, str) else "binary", retry=True,
        )

    def take(self, queue_name: str, limit: int) -> list[KombuMessage]:
        """Up to ``limit`` messages, unacknowledged, oldest first."""
        channel = self._channel()
        taken: list[KombuMessage] = []
        for _ in range(limit):
            try:
                msg = channel.basic_get(queue_name, no_ack=False)
            except Exception as exc:  # a queue that was never declared on AMQP
                if self._needs_declare and "NOT_FOUND" in str(exc):
                    return taken
                raise
            if msg is None:
                break
            if not isinstance(msg, KombuMessage):
                msg = channel.message_to_python(msg)
            taken.append(msg)
        return taken

    def size(self, queue_name: str) -> int:
        channel = self._channel()
        try:
            return int(channel.queue_declare(queue=queue_name, passive=True).message_count)
        except Exception as exc:
            if "NOT_FOUND" in str(exc):
                return 0
            raise

    def restore(self, delivery_tags: Iterable[str]) -> int:
        """Put back messages a dead turn took but never acknowledged (Redis transport).

        On AMQP the broker already requeued them when the dead worker's connection
        dropped, so there is nothing to do.
        """
        qos = getattr(self._channel(), "qos", None)  # a virtual (Kombu-emulated) channel's
        restore_by_tag = getattr(qos, "restore_by_tag", None)
        if restore_by_tag is None:
            return 0
        # Kombu pushes on the left and pops on the right: restoring newest first onto
        # the right end puts the oldest back at the head, in the order they were taken.
        tags = list(delivery_tags)
        for tag in reversed(tags):
            restore_by_tag(tag, leftmost=False)
        return len(tags)

    def sweep_unacked(self, redis_client: Any) -> set[str]:
        """Safety net (Kombu path on a Redis broker): put back mailbox messages left
        unacknowledged longer than the visibility timeout (a turn that died between
        taking a message and recording its tag) and return their queue names, so the
        caller can activate those actors: a message put back with nobody to take it
        would wait for the next message to its actor."""
        channel = self._channel()
        qos = getattr(channel, "qos", None)
        restore_by_tag = getattr(qos, "restore_by_tag", None)
        if restore_by_tag is None:
            return set()  # not a virtual transport: the broker redelivers by itself
        # Kombu keeps its unacknowledged messages on the broker: read them there (a
        # broker apart from the journal's Redis, as with a Redis Cluster, has them).
        redis_client = getattr(channel, "client", None) or redis_client
        unacked = self._keys.mailbox_unacked
        cutoff = time.time() - MAILBOX_VISIBILITY_TIMEOUT_S
        tags = redis_client.zrangebyscore(self._keys.mailbox_unacked_index, "-inf", cutoff,
                                          start=0, num=100)
        queues: set[str] = set()
        for raw_tag in tags:
            tag = raw_tag.decode() if isinstance(raw_tag, bytes) else raw_tag
            entry = redis_client.hget(unacked, tag)
            if entry:
                try:
                    queues.add(json.loads(entry)[2])
                except (ValueError, IndexError, TypeError):
                    pass
            restore_by_tag(tag)
        return queues

