"""Bring an existing Celery project over without a rewrite.

One noun per module: ``task_policy`` (what a Celery task declares, read once and
mapped onto a step's policy), ``task_call`` (one attempt: the task's own function
called under a Celery-like request, its exceptions given their meaning),
``task_step`` (``step.from_task``: the task as a durable step, and the finder that
makes any Celery task named in a canvas or a beat entry a step), ``task_adapter``
(``step.from_task`` as the package's facade installs it: Celery is imported at the
first adoption, not with ``pyworkflow``), ``celery_apps``
(where tasks are looked up by name). The durable canvas is :mod:`pyworkflow.canvas`;
``beat_schedule`` import is :mod:`pyworkflow.schedules.beat_import`.

This facade imports nothing, like ``pyworkflow.schedules``: import the names from
``pyworkflow.adopt.task_step`` (or use ``step.from_task``).
"""
