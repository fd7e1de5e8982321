"""How many task messages wait in a Celery queue, read from the broker's own Redis lists.

Recovery asks it about a queued turn whose task may have been lost on its way
(``actors.recovery``): an empty queue means the task is nowhere a worker will take it
from. Only when the broker is the runs' own Redis (``mailbox_in_redis``): then a count
is a pipeline of ``LLEN``, one per priority level (Kombu's Redis transport keeps one
list per level, named ``<queue><sep><level>`` above level 0). Any other broker gets no
reader, and a queued turn waits out its lease as before.
"""

from __future__ import annotations

from typing import Any

from kombu.transport.redis import Channel as KombuRedisChannel

from ..routing import BROKER_LEVELS

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
