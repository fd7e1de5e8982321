"""A Celery canvas (chain, group, chord) run as one durable run.

    from celery import chord
    from pyworkflow import canvas

    result = canvas.start(chord(fetch.s(url) for url in urls)(merge.s()))
    result.get(timeout=60)          # like AsyncResult.get; result.id is the run id

One noun per module: ``tree`` (the signature tree read into journal-safe data),
``walk`` (the built-in workflow that walks it, each task a step), ``handle`` (the
``AsyncResult``-like handle). :func:`start` checks the tree and that this process
knows each task it names (a typo fails here, not on a worker), then starts the run.
"""

from __future__ import annotations

from typing import Any

from ..adopt.celery_apps import find_task
from ..client import sync as client
from .handle import CanvasResult
from .tree import CanvasError, describe, from_signature, task_names
from .walk import CANVAS_WORKFLOW

__all__ = ["CANVAS_WORKFLOW", "CanvasError", "CanvasResult", "start"]


def start(signature: Any, *, idempotency_key: str | None = None) -> CanvasResult:
    """Run ``signature`` (a task signature, chain, group or chord) as a durable run.

    The workers must import the module that defines the tasks (``pyworkflow --module
    proj.tasks worker run``). With ``idempotency_key`` a second start with the same key
    returns the first run's handle instead of running the canvas again.
    """
    tree = from_signature(signature)
    unknown = sorted(name for name in task_names(tree) if find_task(name) is None)
    if unknown:
        raise CanvasError(f"no Celery task named {', '.join(map(repr, unknown))} in this "
                          "process: import the module that defines it")
    run_id = client.start(CANVAS_WORKFLOW, describe(tree), tree,
                          idempotency_key=idempotency_key)
    return CanvasResult(str(run_id))
