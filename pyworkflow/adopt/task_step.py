"""``step.from_task(celery_task)``: an existing Celery task, awaited as a durable step.

    from proj.tasks import charge            # @app.task(autoretry_for=..., bind=True)
    charge_step = step.from_task(charge)

    @workflow()
    async def order(order_id):
        return await charge_step(order_id)   # journaled, leased, retried per the task

The step is named after the task (``proj.tasks.charge``) and registered like any
``@step``: built by the same decorator, with the task's declarations mapped onto its
policy (:mod:`.task_policy`) and each attempt run by :func:`.task_call.call_task`.
The task object itself is not touched, so ``charge.delay(...)`` still sends it to a
plain Celery worker: a project moves one call site at a time. ``@step`` stacked on
``@app.task`` does the same, and the step keeps the task's ``delay``,
``apply_async``, ``s``, ``si`` and ``signature``, so the name still works both ways.

A task named (not passed) in a canvas or a beat entry becomes a step the same way,
in whichever process first meets its name (:data:`pyworkflow.registry.step_finders`).
"""

from __future__ import annotations

import inspect
from typing import Any

from celery import _state, signals

from actors import log as _log

from ..registry import StepDef, list_steps, step_finders
from ..workflow_api.decorators import STEP_ATTR, step, task_adapters
from .celery_apps import find_task, real_task
from .task_call import call_task
from .task_policy import TaskPolicy, policy_of

logger = _log.get_logger("pyworkflow.adopt")


def _registered(name: str) -> StepDef | None:
    """The step registered as ``name``, without asking the finders (which would make
    the task a step as a side effect)."""
    return next((s for s in list_steps() if s.name == name), None)


#: The task's own ways of being sent, kept on the step (``@step`` stacked on
#: ``@app.task`` replaces the module's name for it): ``.delay()``, ``.s()`` in a canvas.
_TASK_FACE = ("name", "delay", "apply_async", "s", "si", "signature", "AsyncResult")

#: What ``from_task`` made, by task name, so a second call returns the same step.
_made: dict[str, Any] = {}


def from_task(task: Any) -> Any:
    """The Celery ``task`` as a step: await it from a workflow like any ``@step``."""
    task = real_task(task)
    made = _made.get(task.name)
    if made is not None and getattr(made, "__pyworkflow_task__", None) is task:
        return made
    policy = policy_of(task)
    body = _body(task, policy)
    try:
        made = step(name=policy.name, max_retries=policy.max_retries,
                    retry_delay=policy.retry_delay, timeout=policy.timeout,
                    **_routing(policy))(body)
    except ValueError as exc:
        raise ValueError(f"Celery task {policy.name!r} cannot be a step: {exc}") from None
    made.__pyworkflow_task__ = task
    for attr in _TASK_FACE:  # stacked on @app.task, the old calls keep working
        setattr(made, attr, getattr(task, attr))
    _made[task.name] = made
    return made


def _routing(policy: TaskPolicy) -> dict[str, Any]:
    """The task's ``queue`` as the step's, where ``@step`` routes (``pyworkflow.routing``):
    its attempts go to workers that read that queue, as the task went to Celery workers
    that read it."""
    if policy.queue and "queue" in inspect.signature(step).parameters:
        return {"queue": policy.queue}
    return {}


def _body(task: Any, policy: TaskPolicy) -> Any:
    """The step's function: one attempt of the task. Named after the task's own
    function (its module decides whether a second definition of the name clashes)."""

    def body(*args: Any, **kwargs: Any) -> Any:
        return call_task(task, policy, args, kwargs)

    original = getattr(task, "__wrapped__", None) or task.run
    body.__module__ = getattr(original, "__module__", None) or task.__module__
    body.__name__ = body.__qualname__ = policy.name
    body.__doc__ = task.__doc__
    return body


def step_def(step_callable: Any) -> StepDef:
    """The StepDef behind a step made here (or by ``@step``)."""
    defn: StepDef = getattr(step_callable, STEP_ATTR)
    return defn


def task_step(name: str) -> Any:
    """The step for the Celery task registered as ``name``; LookupError if no live
    Celery app in this process has such a task (import the module that defines it)."""
    task = find_task(name)
    if task is None:
        raise LookupError(f"no Celery task named {name!r} in this process: import the "
                          "module that defines it (pyworkflow --module proj.tasks ...)")
    return from_task(task)


def register_known_tasks() -> list[str]:
    """Every task of every Celery app in this process, as a step, so a worker lists
    them among the steps it runs (``worker.adverts``: routing sends a task's attempts
    only to workers that say they have it). A task whose name a native step already
    holds is left to that step. Returns the names registered."""
    names: list[str] = []
    for app in list(_state._get_active_apps()):
        for name in list(app.tasks):
            task = find_task(name)
            if task is None or _registered(name) is not None:
                continue
            try:
                from_task(task)
            except (TypeError, ValueError) as exc:
                logger.warning("a Celery task is not made a step", task=name, error=str(exc))
                continue
            names.append(name)
    return names


def _on_worker_init(**_: Any) -> None:
    """A worker starts with its modules imported: their tasks become its steps."""
    register_known_tasks()


def _find(name: str) -> StepDef | None:
    task = find_task(name)
    return None if task is None else step_def(from_task(task))


step_finders.append(_find)
task_adapters.append(from_task)
signals.worker_init.connect(_on_worker_init, weak=False)
