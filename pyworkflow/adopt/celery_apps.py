"""Where a Celery task is found: the object a user passes, or a name in a canvas or a
beat entry, looked up in every Celery app this process has created.

A task module decorated with ``@app.task`` registers its tasks in that app (and,
``shared`` by default, in every app), so a worker that imported the user's module
(``--module proj.tasks``) can resolve any task name the user's canvas or beat
schedule names, in whichever of its processes first meets it.
"""

from __future__ import annotations

from typing import Any

from celery import _state


def real_task(task: Any) -> Any:
    """The task object behind Celery's lazy proxy (``@app.task`` before the app is
    finalized returns a ``PromiseProxy``); refuse anything that is not a task."""
    if callable(getattr(task, "_get_current_object", None)):
        task = task._get_current_object()
    if not (hasattr(task, "run") and hasattr(task, "apply_async") and isinstance(
            getattr(task, "name", None), str)):
        raise TypeError(f"expected a Celery task (made by @app.task), got {task!r}")
    return task


def find_task(name: str) -> Any | None:
    """The task registered under ``name`` in any live Celery app, or None. Celery's own
    built-in tasks (``celery.*``) and pyworkflow's (``pyworkflow.*``: the turn, the step
    task) are never steps."""
    if name.startswith(("celery.", "pyworkflow.")):
        return None
    for app in list(_state._get_active_apps()):
        task = app.tasks.get(name)
        if task is not None:
            return task
    return None
