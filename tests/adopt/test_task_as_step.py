"""A Celery task with ``autoretry_for`` and ``retry_backoff`` is retried as Celery
retries it: the same task, run by a plain ``celery worker`` (sent with ``.delay()``,
which ``step.from_task`` left as it was) and awaited as a step by pyworkflow workers,
waits the same 1 s then 2 s between its attempts."""

from __future__ import annotations

import uuid
from pathlib import Path

import pyworkflow
from pyworkflow.worker._runtime import runtime
from pyworkflow.worker.adverts import live_adverts
from tests._redis_server import RedisServer
from tests._workers import Worker
from tests.adopt import chord_tasks, durable_flows
from tests.adopt._plain_celery import PlainCeleryWorker, detach, point_app_at
from tests.cli.test_examples_cli import wait_done

#: Celery's ``retry_backoff=True`` without jitter: 1 s, then 2 s.
BACKOFF = [1.0, 2.0]
SLACK_S = 0.6


def _gaps(tag: str) -> list[float]:
    times = [float(t) for t in chord_tasks.notes(tag, "attempts")]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def test_autoretry_with_backoff_waits_as_celery_does(redis_env: dict[str, str],
                                                      log_dir: Path) -> None:
    broker = RedisServer().start()
    plain = None
    try:
        url = broker.url
        point_app_at(chord_tasks.chord_app, url)
        plain = PlainCeleryWorker(url, log_dir, f"adopt-plain-retry-{uuid.uuid4().hex[:4]}")
        plain.start()
        celery_tag = f"celery-{uuid.uuid4().hex[:6]}"
        assert chord_tasks.flaky.delay(celery_tag, 2).get(timeout=30) == 3  # the old way
        celery_gaps = _gaps(celery_tag)
    finally:
        if plain is not None:
            plain.kill()
        detach(chord_tasks.chord_app)
        broker.stop()

    durable_tag = f"durable-{uuid.uuid4().hex[:6]}"
    worker = Worker("tests.adopt.durable_flows", log_dir, "adopt-retry", concurrency=2)
    try:
        worker.start()
        run_id = str(pyworkflow.start(durable_flows.flaky_flow, durable_tag, 2))
        final = wait_done(run_id, 30)
        # Every task of the module's app is a step the worker says it runs (routing
        # sends attempts by that), not only the one a workflow made with from_task.
        rt = runtime()
        steps = {s for a in live_adverts(rt.redis, rt.settings.key_prefix) for s in a.steps}
        assert {"adopt.flaky", "adopt.square", "adopt.collect"} <= steps
    finally:
        worker.kill()
    assert (final["status"], final["result"]) == ("completed", 3)
    durable_gaps = _gaps(durable_tag)
    print(f"\n[retry_backoff] plain Celery waited {[round(g, 2) for g in celery_gaps]} s, "
          f"the task as a step {[round(g, 2) for g in durable_gaps]} s")
    for gaps in (celery_gaps, durable_gaps):
        assert len(gaps) == len(BACKOFF)
        assert all(want <= got < want + SLACK_S for got, want in zip(gaps, BACKOFF,
                                                                      strict=True)), gaps
