"""Plain Celery tasks for the canvas tests run in-process (``WorkflowEnvironment``):
arithmetic, a task that always fails, and errbacks of both styles that note their
calls here (the tests read ``ERRBACK_CALLS`` in the same process)."""

from __future__ import annotations

from typing import Any

from celery import Celery

canvas_app = Celery("adopt_canvas", set_as_current=False)
ERRBACK_CALLS: list[tuple[Any, ...]] = []


@canvas_app.task(name="cv.add")
def add(a: int, b: int = 0) -> int:
    return a + b


@canvas_app.task(name="cv.total")
def total(values: list[int], plus: int = 0) -> int:
    return sum(values) + plus


@canvas_app.task(name="cv.broken", autoretry_for=(ValueError,), max_retries=1,
                 default_retry_delay=0)
def broken(*_: Any) -> None:
    raise ValueError("broken on purpose")


@canvas_app.task(name="cv.old_errback")
def old_errback(task_id: str) -> None:
    ERRBACK_CALLS.append(("old", task_id))


@canvas_app.task(name="cv.new_errback")
def new_errback(request: Any, exc: Exception, traceback: str | None) -> None:
    ERRBACK_CALLS.append(("new", request.id, request.task, type(exc).__name__, str(exc)))
