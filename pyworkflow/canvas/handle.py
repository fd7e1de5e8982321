"""What ``pyworkflow.canvas.start`` returns: a handle shaped like Celery's
``AsyncResult``, so code that waited on ``chord(...).delay()`` keeps its shape.

``.id`` is the run id (``pyworkflow runs status <id>`` shows the tree and each
task's attempts). ``.get(timeout=)`` waits (woken by Redis, not by polling) and
returns the canvas's result, or raises: pyworkflow's ``WorkflowFailedError`` naming
the failed task's error (not the task's own exception class: nothing named in a
journal is imported), or ``TimeoutError`` when the wait ran out (Celery's
``celery.exceptions.TimeoutError`` is a subclass of it).
"""

from __future__ import annotations

from typing import Any

from ..client import sync as client
from ..run_info import RunInfo

#: A run's status in Celery's words.
CELERY_STATES = {"pending": "PENDING", "running": "STARTED", "completed": "SUCCESS",
                 "failed": "FAILURE", "cancelled": "REVOKED"}


class CanvasResult:
    """A durable canvas run, as Celery's ``AsyncResult`` would show it."""

    def __init__(self, run_id: str) -> None:
        self.id = run_id

    def __repr__(self) -> str:
        return f"<CanvasResult: {self.id}>"

    @property
    def info(self) -> RunInfo:
        return client.get_workflow_run(self.id)

    @property
    def state(self) -> str:
        """``PENDING``, ``STARTED``, ``SUCCESS``, ``FAILURE`` or ``REVOKED``."""
        status = self.info.status
        return CELERY_STATES.get(status, status.upper())

    status = state

    def ready(self) -> bool:
        return self.info.finished

    def successful(self) -> bool:
        return self.info.status == "completed"

    def failed(self) -> bool:
        return self.info.status in ("failed", "cancelled")

    def get(self, timeout: float | None = None, propagate: bool = True) -> Any:
        """The canvas's result (a chord's: its body's); raises if the run failed,
        unless ``propagate=False`` (then the error, as Celery returns it)."""
        try:
            return client.get_result(self.id, timeout=timeout)
        except TimeoutError:
            raise
        except Exception as exc:
            if propagate:
                raise
            return exc

    def revoke(self, reason: str | None = None) -> None:
        """Cancel the run (its running tasks finish; no new one starts)."""
        client.cancel_workflow(self.id, reason=reason)
