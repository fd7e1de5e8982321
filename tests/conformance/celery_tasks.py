"""Celery tasks awaited as steps (``step.from_task``), for the conformance cases: the
retries Celery's declarations ask for must be the same on every runtime.

A plain Celery app, as a project would have it (never sent to: its tasks run only as
steps here). Imported by ``workflows.py``, so the celery runtime's workers have them.
"""

from __future__ import annotations

import time
from typing import Any

from celery import Celery

from pyworkflow import get_step_context, step, workflow
from tests.conformance.workflows import describe, mark

celery_app = Celery("conf_tasks")


@celery_app.task(name="conf_celery_backoff", bind=True, autoretry_for=(ConnectionError,),
                 retry_backoff=True, retry_jitter=False, max_retries=2)
def backoff_task(self: Any, tag: str) -> dict[str, Any]:
    """Fails twice with a listed exception: retried after 1 s, then 2 s (Celery's
    ``retry_backoff=True`` curve), then returns what its request said."""
    attempt = mark(tag)
    if attempt <= 2:
        raise ConnectionError(f"attempt {attempt} lost the connection")
    return {"retries": self.request.retries,
            "id_is_the_call": self.request.id == get_step_context().idempotency_key}


@celery_app.task(name="conf_celery_unlisted", autoretry_for=(ConnectionError,),
                 max_retries=3, default_retry_delay=0)
def unlisted_task(tag: str) -> None:
    """Raises an exception outside ``autoretry_for``: Celery would not retry it."""
    mark(tag)
    raise ValueError("not in autoretry_for")


@celery_app.task(name="conf_celery_self_retry", bind=True, max_retries=3,
                 default_retry_delay=0)
def self_retry_task(self: Any, tag: str) -> int:
    """``self.retry(countdown=0.3)`` on its first attempt: a durable retry 0.3 s later."""
    attempt = mark(tag)
    if attempt == 1:
        raise self.retry(countdown=0.3)
    return int(self.request.retries)


@celery_app.task(name="conf_celery_exhausted", autoretry_for=(ConnectionError,),
                 max_retries=1, default_retry_delay=0)
def exhausted_task(tag: str) -> None:
    """Always fails with a listed exception: ``max_retries=1`` allows two attempts."""
    mark(tag)
    raise ConnectionError("still down")


@celery_app.task(name="conf_celery_soft_limit", soft_time_limit=0.3, max_retries=1,
                 default_retry_delay=0)
def soft_limit_task(tag: str) -> None:
    """Runs past its ``soft_time_limit``: the step's timeout, retried per its policy."""
    mark(tag)
    time.sleep(1.0)


backoff_step = step.from_task(backoff_task)
unlisted_step = step.from_task(unlisted_task)
self_retry_step = step.from_task(self_retry_task)
exhausted_step = step.from_task(exhausted_task)
soft_limit_step = step.from_task(soft_limit_task)


@workflow(name="conf_celery_backoff")
async def backoff_flow(tag: str) -> Any:
    return await backoff_step(tag)


@workflow(name="conf_celery_self_retry")
async def self_retry_flow(tag: str) -> Any:
    return await self_retry_step(tag)


@workflow(name="conf_celery_catch")
async def catch_flow(tag: str, which: str) -> Any:
    try:
        await {"unlisted": unlisted_step, "exhausted": exhausted_step,
               "soft_limit": soft_limit_step}[which](tag)
    except Exception as exc:
        return describe(exc)
    return None
