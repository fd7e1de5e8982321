"""A plain Celery app with a beat schedule (a tick every 2 s), for the beat-import tests.

Its task notes each call's ``request.id`` in Redis: run as a step, that is the step
call's idempotency key, whose run id names the schedule's slot."""

from __future__ import annotations

import os
from typing import Any

import redis
from celery import Celery

app = Celery("adopt_beat", broker="memory://")
app.conf.timezone = "UTC"
app.conf.beat_schedule = {
    "tick-every-2s": {"task": "adopt.tick", "schedule": 2.0, "args": ("beat",)},
}


def ticks_key(tag: str) -> str:
    return f"{os.environ.get('PYWORKFLOW_KEY_PREFIX', 'pw')}:adopt:{tag}:ticks"


@app.task(name="adopt.tick", bind=True)
def tick(self: Any, tag: str) -> str:
    redis.Redis.from_url(os.environ["PYWORKFLOW_REDIS_URL"]).rpush(ticks_key(tag),
                                                                   self.request.id)
    return str(self.request.id)
