"""The plain-Celery baseline: a Celery app and worker that import nothing of pyworkflow.

    celery -A ops.bench.plain_celery worker --pool prefork --concurrency 2 -Q <queue>

``run.py`` starts this worker next to the pyworkflow worker, with the same pool,
broker and delivery settings as pyworkflow's Celery app (``acks_late``,
``reject_on_worker_lost``, prefetch 1, JSON, no result backend), so the two
columns differ by the workflow layer only, and their memory and CPU can be read
apart (one process tree each). Configured by the environment ``run.py`` sets:
``BENCH_PLAIN_BROKER_URL`` (Kombu form), ``BENCH_PLAIN_REDIS_URL`` (redis-py form),
``BENCH_PLAIN_PREFIX`` (its queue is ``<prefix>.plain``; the last task of a chain
RPUSHes the chain id to ``<prefix>:bench:done``).

* ``bench.plain_task``: does nothing; with ``done=<id>`` it reports the chain's end.
* ``bench.self_chain``: sends the next task itself (one hop each, whatever the length).
"""

from __future__ import annotations

import os
from typing import Any

import redis
from celery import Celery
from redis.cluster import RedisCluster

PLAIN_TASK = "bench.plain_task"
SELF_CHAIN_TASK = "bench.self_chain"


def queue_name(prefix: str) -> str:
    return f"{prefix}.plain"


def done_key(prefix: str) -> str:
    return f"{prefix}:bench:done"


def make_app(broker_url: str, redis_url: str, prefix: str, *, current: bool = True) -> Celery:
    app = Celery("bench-plain", set_as_current=current)
    app.conf.update(
        broker_url=broker_url,
        result_backend=None,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_default_queue=queue_name(prefix),
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        worker_send_task_events=False,
        task_send_sent_event=False,
        enable_utc=True,
    )
    client: Any = redis.Redis.from_url(redis_url)
    if client.info("cluster").get("cluster_enabled"):  # the journal on a Redis Cluster
        client = RedisCluster.from_url(redis_url)
    key = done_key(prefix)

    @app.task(name=PLAIN_TASK, ignore_result=True)
    def plain_task(i: int, done: str | None = None) -> None:
        if done is not None:
            client.rpush(key, done)

    @app.task(name=SELF_CHAIN_TASK, ignore_result=True)
    def self_chain(i: int, remaining: int, done: str) -> None:
        if remaining > 0:
            app.send_task(SELF_CHAIN_TASK, args=[i + 1, remaining - 1, done])
        else:
            client.rpush(key, done)

    return app


if "BENCH_PLAIN_PREFIX" in os.environ:  # the worker process (``celery -A``)
    app = make_app(os.environ["BENCH_PLAIN_BROKER_URL"], os.environ["BENCH_PLAIN_REDIS_URL"],
                   os.environ["BENCH_PLAIN_PREFIX"])
