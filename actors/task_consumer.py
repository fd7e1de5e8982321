# Celery ships no type information: its classes are Any to mypy, and subclassing
# two of them is what this module is for.
# mypy: allow-subclassing-any
"""The Celery consumer of a worker: task messages it cannot run become dead letters.

Why: Celery's consumer drops some malformed task messages with a log line
(undecodable body, unknown format, invalid task) and lets others raise out of its
event loop, which stops the worker ("Unrecoverable error", exit status 0) and,
with late acks, puts the message back so the next worker dies on it too: a JSON
task message whose body is a string instead of ``[args, kwargs, embed]`` fails
inside the task strategy; an unknown task name fails when Celery reports it to a
result backend we do not have.

The guard is at the mechanism, not per message shape: every hook Celery offers
for a bad message (``on_decode_error``, ``on_unknown_message``,
``on_unknown_task``, ``on_invalid_task``) and any exception the task strategy
raises for one message end in the same place: the message is dead-lettered with
the reason, acknowledged, and the consumer goes on. Broker connection errors
still propagate: those are Celery's to handle (it reconnects).

Bytes that never became a Kombu message (on the Redis transport) are caught one
level down, in ``actors.transport_guard``; ``GuardedAMQP`` makes Celery use that
connection. Wire both with :func:`guard`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from celery import Celery
from celery.app.amqp import AMQP
from celery.worker.consumer import Consumer

from .transport_guard import GuardedConnection, dead_letter

#: Celery's ``worker_consumer`` setting for this consumer.
CONSUMER_PATH = "actors.task_consumer:DeadLetteringConsumer"

_LOG = logging.getLogger("actors.task_consumer")  # what ``ack_log_error`` reports to


class GuardedAMQP(AMQP):
    """Celery's broker plumbing, with connections that survive unreadable queue entries."""

    Connection = GuardedConnection
    BrokerConnection = GuardedConnection


def guard(app: Celery) -> None:
    """Make ``app``'s workers dead-letter what they cannot read or run (call it before
    the app opens its first connection)."""
    app.amqp_cls = f"{GuardedAMQP.__module__}:{GuardedAMQP.__name__}"
    app.conf.worker_consumer = CONSUMER_PATH


class DeadLetteringConsumer(Consumer):
    """Celery's consumer; a message it cannot turn into a task request is dead-lettered."""

    def create_task_handler(self, *args: Any, **kwargs: Any) -> Any:
        handler = super().create_task_handler(*args, **kwargs)
        connection_errors = tuple(self.connection_errors or ())

        def on_task_received(message: Any) -> Any:
            try:
                return handler(message)
            except connection_errors:
                raise
            except Exception as exc:  # whatever this one message makes Celery raise
                self._dead_letter(message, f"task message Celery cannot run: "
                                           f"{type(exc).__name__}: {str(exc)[:300]}")
                return None

        return on_task_received

    def on_decode_error(self, message: Any, exc: Exception) -> None:
        self._dead_letter(message, f"undecodable task message: {type(exc).__name__}: "
                                   f"{str(exc)[:300]}")

    def on_unknown_message(self, body: Any, message: Any) -> None:
        self._dead_letter(message, "not a Celery task message (no task name)")

    def on_unknown_task(self, body: Any, message: Any, exc: Exception) -> None:
        # Celery would also report the failure to a result backend; there is none.
        self._dead_letter(message, f"unknown task: {str(exc)[:300]}")

    def on_invalid_task(self, body: Any, message: Any, exc: Exception) -> None:
        self._dead_letter(message, f"invalid task message: {type(exc).__name__}: "
                                   f"{str(exc)[:300]}")

    def _dead_letter(self, message: Any, reason: str) -> None:
        info = getattr(message, "delivery_info", None) or {}
        queue = str(info.get("routing_key") or info.get("queue") or "")
        dead_letter(queue, _message_bytes(message), reason)
        if not getattr(message, "acknowledged", False):
            message.ack_log_error(_LOG, self.connection_errors)


def _message_bytes(message: Any) -> bytes:
    """What an operator needs to recognise (or resend) the message: its headers,
    content type and body, as one JSON document."""
    body = getattr(message, "body", b"")
    text = body.decode("utf-8", "replace") if isinstance(body, bytes | bytearray) else str(body)
    try:
        headers = json.loads(json.dumps(getattr(message, "headers", None), default=repr))
    except (TypeError, ValueError, RecursionError):
        headers = repr(getattr(message, "headers", None))[:1000]
    return json.dumps({"headers": headers, "content-type": getattr(message, "content_type", None),
                       "content-encoding": getattr(message, "content_encoding", None),
                       "body": text}).encode()
