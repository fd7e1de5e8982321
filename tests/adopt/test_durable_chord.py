"""A chord survives what Celery's does not: a worker SIGKILLed mid-header and a Redis
restart. The durable canvas's body runs once, with all 20 header results; the same
chord on plain Celery, in the same test, is run and reported (printed), not judged.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest
from celery import chord

from pyworkflow import canvas
from tests._redis_server import RedisServer
from tests._workers import Worker, wait_for
from tests.adopt import chord_tasks
from tests.adopt._plain_celery import PlainCeleryWorker, detach, point_app_at

MODULE = "tests.adopt.chord_tasks"
HEADER = 20
#: How long plain Celery is given to call the body after the same faults.
CELERY_GRACE_S = 20.0




def _header_chord(tag: str) -> chord:
    return chord([chord_tasks.square.s(tag, i) for i in range(HEADER)],
                 chord_tasks.collect.s(tag))


def _mid_header(tag: str) -> bool:
    done = len(chord_tasks.notes(tag, "header"))
    assert done < HEADER, "the header finished before the kill: make its tasks slower"
    return done >= 4


# quiet: it waits out a SIGKILLed worker's step leases and a Redis restart against a
# deadline, which the parallel run's load can stretch past it.
@pytest.mark.quiet
def test_a_chord_body_runs_once_with_every_result_after_a_sigkill_and_a_redis_restart(
        own_redis: RedisServer, log_dir: Path) -> None:
    tag = f"durable-{uuid.uuid4().hex[:6]}"
    workers = [Worker(MODULE, log_dir, f"adopt-chord-{tag}-{i}", concurrency=2).start(False)
               for i in range(2)]
    try:
        for w in workers:
            w.wait_ready()
        started = time.monotonic()
        result = canvas.start(_header_chord(tag))
        wait_for(lambda: _mid_header(tag), 30, 0.02, "a few header tasks to finish")
        workers[0].kill()  # SIGKILL: its running header tasks die with it
        own_redis.restart(kill=True)
        workers[0] = Worker(MODULE, log_dir, f"adopt-chord-{tag}-0b", concurrency=2).start()
        total = result.get(timeout=120)
        took = time.monotonic() - started
    finally:
        for w in workers:
            w.kill()
    squares = [i * i for i in range(HEADER)]
    bodies = chord_tasks.notes(tag, "body")
    assert total == sum(squares)
    assert len(bodies) == 1, f"the body ran {len(bodies)} times: {bodies}"
    assert bodies[0] == squares  # every result, in header order
    header_runs = chord_tasks.notes(tag, "header")
    assert sorted(set(header_runs)) == list(range(HEADER))
    print(f"\n[durable canvas] body ran once with all {HEADER} results in {took:.1f}s; "
          f"header task runs: {len(header_runs)} for {HEADER} tasks (a task killed "
          "mid-run runs again)")

    # The same chord on plain Celery, under the same faults: reported, not asserted.
    plain_tag = f"plain-{uuid.uuid4().hex[:6]}"
    url = own_redis.url.rsplit("/", 1)[0] + "/1"
    point_app_at(chord_tasks.chord_app, url)
    plain = PlainCeleryWorker(url, log_dir, f"adopt-plain-{plain_tag}").start()
    replacement: PlainCeleryWorker | None = None
    try:
        async_result = _header_chord(plain_tag).apply_async()
        wait_for(lambda: _mid_header(plain_tag), 30, 0.02, "a few plain header tasks")
        plain.kill()
        own_redis.restart(kill=True)
        replacement = PlainCeleryWorker(url, log_dir, f"adopt-plain-{plain_tag}-b").start()
        deadline = time.monotonic() + CELERY_GRACE_S
        while time.monotonic() < deadline and not chord_tasks.notes(plain_tag, "body"):
            time.sleep(0.2)  # a bounded look, not a wait for something promised
        plain_bodies = chord_tasks.notes(plain_tag, "body")
        plain_headers = chord_tasks.notes(plain_tag, "header")
        print(f"[plain celery] after {CELERY_GRACE_S:.0f}s: header tasks finished "
              f"{len(set(plain_headers))} of {HEADER} ({len(plain_headers)} runs); body "
              f"calls {len(plain_bodies)}"
              + (f" with {len(plain_bodies[0])} results" if plain_bodies else "")
              + f"; AsyncResult ready: {async_result.ready()}")
    finally:
        plain.kill()
        if replacement is not None:
            replacement.kill()
        detach(chord_tasks.chord_app)
        os.environ.pop("ADOPT_CELERY_URL", None)
