"""How many task messages wait in a Celery queue, read from the broker's own Redis lists.

Recovery asks it about a queued turn whose task may have been lost on its way
(``actors.recovery``): an empty queue means the task is nowhere a worker will take it
from. Only when the broker is the runs' own Redis (``mailbox_in_redis``): then a count
is a pipeline of ``LLEN``, one per priority level (Kombu's Redis transport keeps one
list per level, named ``<queue><sep><level>`` above level 0). Any other broker gets no
reader, and a queued turn waits out its lease as before.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from kombu.transport.redis import Channel as KombuRedisChannel

from ..routing import BROKER_LEVELS

#: A queue this long or shorter is read whole to tell whether a given actor's task
#: waits in it (``queue_text``); a longer one "may hold it": its turn keeps its lease.
TEXT_MAX_TASKS = 1_000

#: Kombu's separator between a queue's name and a priority level's.
LEVEL_SEP: str = KombuRedisChannel.sep


def level_lists(queue: str) -> list[str]:
    """The Redis lists that hold ``queue``'s messages, level 0 (read first) first."""
    return [queue, *(f"{queue}{LEVEL_SEP}{level}" for level in range(1, BROKER_LEVELS))]


class BrokerBacklog:
    """``ActorSystem.backlog``: messages waiting in a Celery queue (None: the turn queue)."""

    def __init__(self, redis: Any, turn_queue: str) -> None:
        self._redis = redis
        self._turn_queue = turn_queue

    def __call__(self, queue: str | None) -> int:
        pipe = self._redis.pipeline(transaction=False)
        for name in level_lists(queue or self._turn_queue):
            pipe.llen(name)
        return sum(int(n) for n in pipe.execute())

    def text(self, queue: str | None) -> str | None:
        """``ActorSystem.queue_text``: every task message waiting in ``queue`` (None: the
        turn queue), envelope and decoded body, as one text to search for an actor id
        (its turn and wake tasks carry it in their arguments), or None past
        ``TEXT_MAX_TASKS``. One round trip for the lengths, one for the lists."""
        names = level_lists(queue or self._turn_queue)
        pipe = self._redis.pipeline(transaction=False)
        for name in names:
            pipe.llen(name)
        lengths = [int(n) for n in pipe.execute()]
        if sum(lengths) > TEXT_MAX_TASKS:
            return None
        pipe = self._redis.pipeline(transaction=False)
        for name, length in zip(names, lengths, strict=True):
            if length:
                pipe.lrange(name, 0, TEXT_MAX_TASKS)
        return "\n".join(_readable(raw) for items in pipe.execute() for raw in items)


def _readable(raw: bytes) -> str:
    """A Kombu envelope as text, with its body decoded when it is base64 (Celery's task
    arguments are in the body)."""
    text = raw.decode("utf-8", "replace")
    try:
        envelope = json.loads(text)
        if envelope.get("properties", {}).get("body_encoding") == "base64":
            text += base64.b64decode(envelope["body"]).decode("utf-8", "replace")
    except (ValueError, TypeError, AttributeError, KeyError, binascii.Error):
        pass  # unreadable: searched as it is
    return text
