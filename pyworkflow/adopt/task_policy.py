"""What a Celery task declares, mapped onto a step's policy, once.

A task's retry options become the three things every runtime's one retry decision
(:func:`pyworkflow.retry.next_attempt_ms`) reads from a step: how many attempts,
the delay before each, and which failures are never retried. So a task awaited as
a step is retried the way its Celery worker would retry it, and by the same code
as any native step (no second retry loop):

* ``max_retries`` (Celery's default 3; ``None``, retry for ever, becomes
  :data:`FOREVER`), overridden by ``retry_kwargs["max_retries"]``;
* ``retry_backoff`` (True or a factor) with ``retry_backoff_max`` and
  ``retry_jitter`` becomes the ``{"backoff", "max", "jitter"}`` delay of
  :mod:`pyworkflow.retry`; else ``retry_kwargs["countdown"]``, else
  ``default_retry_delay`` (Celery's 180 s), a fixed delay;
* ``autoretry_for`` / ``dont_autoretry_for``: only those exceptions are retried by
  the policy; any other fails the step at once, as Celery would let it fail;
* ``soft_time_limit`` (else ``time_limit``) becomes the step's ``timeout``: the
  step's soft limit is raised in the body at that time, and the hard kill follows a
  grace later (:mod:`pyworkflow.worker.step_time_limits`); Celery's separate hard
  limit is not kept;
* ``queue`` (the task's own, else the one the app's ``task_routes`` give it) is the
  step's queue; ``bind`` decides whether the function gets the task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: ``max_retries=None`` (Celery: retry for ever) as a number of retries.
FOREVER = 1_000_000_000
#: Celery's defaults, for a task object that lacks the attribute.
CELERY_MAX_RETRIES = 3
CELERY_RETRY_DELAY_S = 180
CELERY_BACKOFF_MAX_S = 600


@dataclass(frozen=True)
class TaskPolicy:
    """A Celery task's declarations as a step sees them."""

    name: str
    max_retries: int
    retry_delay: Any
    timeout: float | None
    retry_on: tuple[type[BaseException], ...]
    never_retry_on: tuple[type[BaseException], ...]
    queue: str | None
    bind: bool

    def retried(self, exc: BaseException) -> bool:
        """Whether Celery's autoretry would retry ``exc``."""
        return isinstance(exc, self.retry_on) and not isinstance(exc, self.never_retry_on)


def policy_of(task: Any) -> TaskPolicy:
    """Read a Celery task's declarations (see the module's docstring for the mapping)."""
    retry_kwargs = dict(getattr(task, "retry_kwargs", None) or {})
    max_retries = retry_kwargs.get("max_retries", getattr(task, "max_retries",
                                                          CELERY_MAX_RETRIES))
    backoff = getattr(task, "retry_backoff", False)
    if backoff:
        delay: Any = {"backoff": int(max(1.0, float(backoff))),
                      "max": int(getattr(task, "retry_backoff_max", CELERY_BACKOFF_MAX_S)),
                      "jitter": bool(getattr(task, "retry_jitter", True))}
    else:
        countdown = retry_kwargs.get("countdown", getattr(task, "default_retry_delay",
                                                          CELERY_RETRY_DELAY_S))
        delay = float(countdown if countdown is not None else CELERY_RETRY_DELAY_S)
    soft, hard = getattr(task, "soft_time_limit", None), getattr(task, "time_limit", None)
    timeout = soft if soft is not None else hard
    return TaskPolicy(
        name=str(task.name),
        max_retries=FOREVER if max_retries is None else int(max_retries),
        retry_delay=delay,
        timeout=None if timeout is None else float(timeout),
        retry_on=tuple(getattr(task, "autoretry_for", ()) or ()),
        never_retry_on=tuple(getattr(task, "dont_autoretry_for", ()) or ()),
        queue=getattr(task, "queue", None) or _routed_queue(task),
        bind=_is_bound(task),
    )


def _routed_queue(task: Any) -> str | None:
    """The queue the app's ``task_routes`` name for this task (Celery 5.7 deprecates
    the task's own ``queue`` in favour of them); None when no route names one."""
    try:
        routes = list(task.app.amqp.routes)
    except (AttributeError, TypeError):
        return None
    for route in routes:
        found = route(task.name, (), {}, {}, task=task)
        queue = found.get("queue") if isinstance(found, dict) else None
        if queue is not None:
            return str(getattr(queue, "name", queue))
    return None


def _is_bound(task: Any) -> bool:
    """``bind=True``: Celery's task class holds the function as a plain method, so
    ``run`` is bound to the task (else a staticmethod); autoretry keeps the original
    ``run`` as ``_orig_run``."""
    run = getattr(task, "_orig_run", None) or task.run
    return getattr(run, "__self__", None) is task
