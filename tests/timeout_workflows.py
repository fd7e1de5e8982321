"""Steps that keep doing side effects past their timeout, for tests/worker/test_step_timeouts.py.

Each attempt appends ``"<attempt> <time>"`` to a Redis list every 20 ms for far
longer than its timeout; the test reads the list to see when each attempt stopped.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from pyworkflow import get_step_context, step, workflow
from pyworkflow.config import redis_client

TIMEOUT_S = 1.0
RUN_FOR_S = 12.0


def side_effects_key(tag: str) -> str:
    return f"{os.environ['PYWORKFLOW_KEY_PREFIX']}:timeout-test:{tag}"


def _append(client: Any, tag: str) -> None:
    client.rpush(side_effects_key(tag), f"{get_step_context().attempt} {time.time():.3f}")


@step(timeout=TIMEOUT_S, max_retries=1, retry_delay=0.2)
def sync_appender(tag: str) -> str:
    client = redis_client(os.environ["PYWORKFLOW_REDIS_URL"])
    end = time.monotonic() + RUN_FOR_S
    while time.monotonic() < end:
        _append(client, tag)
        time.sleep(0.02)
    return "the timed-out attempt's result"


@step(timeout=TIMEOUT_S, max_retries=1, retry_delay=0.2)
def stubborn_appender(tag: str) -> str:
    """Swallows the soft limit and goes on: only the hard limit stops it."""
    client = redis_client(os.environ["PYWORKFLOW_REDIS_URL"])
    end = time.monotonic() + RUN_FOR_S
    while time.monotonic() < end:
        try:
            _append(client, tag)
            time.sleep(0.02)
        except SoftTimeLimitExceeded:
            continue
    return "the timed-out attempt's result"


@step(timeout=TIMEOUT_S, max_retries=1, retry_delay=0.2)
async def async_appender(tag: str) -> str:
    client = redis_client(os.environ["PYWORKFLOW_REDIS_URL"])
    end = time.monotonic() + RUN_FOR_S
    while time.monotonic() < end:
        _append(client, tag)
        await asyncio.sleep(0.02)
    return "the timed-out attempt's result"


_STEPS = {"sync": sync_appender, "stubborn": stubborn_appender, "async": async_appender}


@workflow
async def times_out(kind: str, tag: str) -> str:
    return await _STEPS[kind](tag)  # type: ignore[no-any-return]
