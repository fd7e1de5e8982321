"""``step.from_task`` ready before Celery is loaded.

``step.from_task(task)`` (and a bare ``@step`` stacked on ``@app.task``) calls the last
adapter in :data:`pyworkflow.workflow_api.decorators.task_adapters`; the real one is
:func:`pyworkflow.adopt.task_step.from_task`, which imports Celery. The package's facade
no longer imports ``task_step`` up front (``import pyworkflow`` and the CLI would pay
~0.1 s for Celery, and the engine imported through the package would load a client), so
it installs :func:`adopt_task` instead when a workflow-half name is first taken from
it: the first adoption imports ``task_step``, whose own adapter, appended on import,
serves every call after.
"""

from __future__ import annotations

from typing import Any

from ..workflow_api.decorators import task_adapters


def adopt_task(task: Any) -> Any:
    """The Celery ``task`` as a step (see :func:`pyworkflow.adopt.task_step.from_task`)."""
    # Imported on the first adoption, not at import: task_step loads Celery, which a
    # process that adopts no task (the CLI, the engine, most apps) should not pay for.
    from .task_step import from_task

    return from_task(task)


def install() -> None:
    """Put :func:`adopt_task` first among the adapters, once. Adapters are tried last
    first, so once ``task_step`` is imported (here or by anyone) its own takes over."""
    if adopt_task not in task_adapters:
        task_adapters.insert(0, adopt_task)
