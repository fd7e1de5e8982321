"""Plain Celery tasks, as an existing project has them, for the adoption tests.

The same module serves a plain ``celery worker`` (its app's broker and result backend
come from ``ADOPT_CELERY_URL``) and ``pyworkflow --module tests.adopt.chord_tasks
worker run`` (which never sends these tasks: it runs them as steps). Each task notes
what it did in Redis (``PYWORKFLOW_REDIS_URL``, under the session's key prefix and a
tag per test), so a test can count header runs and body calls whichever ran them.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import redis
from celery import Celery

chord_app = Celery("adopt_chord", broker=os.environ.get("ADOPT_CELERY_URL", "memory://"),
                   backend=os.environ.get("ADOPT_CELERY_URL") or None)
chord_app.conf.update(task_serializer="json", result_serializer="json",
                      accept_content=["json"], broker_connection_retry_on_startup=True,
                      worker_hijack_root_logger=False)


def _redis() -> redis.Redis:
    return redis.Redis.from_url(os.environ["PYWORKFLOW_REDIS_URL"])


def note_key(tag: str, what: str) -> str:
    return f"{os.environ.get('PYWORKFLOW_KEY_PREFIX', 'pw')}:adopt:{tag}:{what}"


@chord_app.task(name="adopt.square", default_retry_delay=1)
def square(tag: str, i: int, seconds: float = 0.4) -> int:
    """One header task: slow enough that a worker can be killed while some run. An
    attempt whose worker dies is retried after the task's retry delay: 1 s here, where
    Celery's default is 180 s."""
    time.sleep(seconds)
    _redis().rpush(note_key(tag, "header"), i)
    return i * i


@chord_app.task(name="adopt.collect")
def collect(results: list[int], tag: str) -> int:
    """The chord's body: notes each call with the results it was given."""
    _redis().rpush(note_key(tag, "body"), json.dumps(results))
    return sum(results)


@chord_app.task(name="adopt.flaky", autoretry_for=(ConnectionError,), retry_backoff=True,
                retry_jitter=False, max_retries=3)
def flaky(tag: str, failures: int) -> int:
    """Fails ``failures`` times with a listed error, noting each attempt's time."""
    client = _redis()
    attempt = int(client.rpush(note_key(tag, "attempts"), repr(time.time())))
    if attempt <= failures:
        raise ConnectionError(f"attempt {attempt} lost the connection")
    return attempt


def notes(tag: str, what: str) -> list[Any]:
    return [json.loads(x) for x in _redis().lrange(note_key(tag, what), 0, -1)]
