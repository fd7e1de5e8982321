"""One attempt of a Celery task awaited as a step: its function, called as Celery's
worker would call it, with its exceptions given the meaning Celery gives them.

The task's own function runs (its ``autoretry_for`` wrapper is skipped: that would
ask Celery to re-send the task), under a request pushed on the task's request stack,
so ``self.request.id`` (the step call's idempotency key, the same for every attempt,
as Celery keeps a task id across retries), ``self.request.retries`` (attempts so far)
and ``self.request.args``/``kwargs`` read as they would on a Celery worker. The
request is *eager* in Celery's sense, so ``self.retry()`` raises Celery's ``Retry``
instead of publishing a message; that becomes a durable retry here.

What each outcome means (the decision travels with the exception, see
:func:`pyworkflow.step_attempt.mark_fatal`):

* ``self.retry(countdown=..., eta=...)`` -> :class:`RetryableError` due then;
* an exception in ``autoretry_for`` (not in ``dont_autoretry_for``) -> retried by the
  step's mapped policy (:mod:`.task_policy`), until ``max_retries``;
* any other exception, ``MaxRetriesExceededError`` included -> fatal: recorded with
  its own class, never retried;
* ``Ignore`` / ``Reject`` -> fatal as well (a durable run has no "drop this message").
"""

from __future__ import annotations

from typing import Any

from celery.exceptions import Retry

from ..errors import RetryableError
from ..step_attempt import mark_fatal
from ..step_context import get_step_context
from .task_policy import TaskPolicy

#: A canvas passes its node's Celery task id under this keyword; it never reaches the
#: task's function (see :mod:`pyworkflow.canvas.walk`).
TASK_ID_KWARG = "__celery_task_id__"


class TaskRetry(RetryableError):
    """``self.retry()`` in a task awaited as a step: another attempt, at the time the
    call asked for (``countdown`` / ``eta``, else the task's ``default_retry_delay``)."""


def call_task(task: Any, policy: TaskPolicy, args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> Any:
    """Run one attempt of ``task`` with ``args``/``kwargs``; raise what it means."""
    ctx = get_step_context()
    kwargs = dict(kwargs)
    task_id = kwargs.pop(TASK_ID_KWARG, None) or ctx.idempotency_key
    fn = getattr(task, "_orig_run", None) or task.run
    task.push_request(id=task_id, retries=ctx.attempt - 1, args=list(args), kwargs=kwargs,
                      is_eager=True, called_directly=False, delivery_info={
                          "routing_key": policy.queue, "is_eager": True})
    try:
        return fn(*args, **kwargs)
    except Retry as asked:
        raise _as_retry(asked) from asked.exc
    except Exception as exc:
        if not policy.retried(exc):
            mark_fatal(exc)
        raise
    finally:
        task.pop_request()


def _as_retry(asked: Retry) -> TaskRetry:
    when = asked.when
    cause = asked.exc
    what = f"{type(cause).__name__}: {cause}" if cause is not None else "self.retry()"
    return TaskRetry(f"task asked to be retried ({what})",
                     retry_after=when if when is not None else 0)
