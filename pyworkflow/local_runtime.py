"""The local runtime: a durable workflow run in this process, for real.

``pyworkflow --runtime local ... workflows run`` and ``run_local(wf, ...)`` use it
when you want a workflow's whole behaviour (journal, step retries, timers,
cancellation, children) without Redis or a worker: while developing, in a script,
in a notebook. It is the test environment's machinery (``WorkflowEnvironment``:
the real engine, a mailbox, in-memory journal and hook store, steps run in-process)
on a ``RealClock``: a timer is waited for, not skipped, so a ``sleep("5s")`` takes
five seconds and fires by itself.

The journal lives in memory and ends with the process (it never reaches for Redis,
configured or not); ``events(run_id)`` returns it in the shape ``runs export``
writes, so ``pyworkflow.testing.replay`` can replay it. A workflow declared
``@workflow(durable=False)`` runs transient here (see ``transient.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .testing.clock import RealClock
from .testing.environment import WorkflowEnvironment
from .transient import is_transient, run_transient

#: What the CLI (and anyone asking) says about where the journal is kept.
IN_MEMORY_NOTE = ("local runtime: the run's journal is kept in memory (no Redis is used); "
                  "it ends with this process")

EventListener = Callable[[str, dict[str, Any]], None]


class LocalRuntime(WorkflowEnvironment):
    """A ``WorkflowEnvironment`` on the wall clock; ``on_event(run_id, event)`` is
    told of each journal event soon after it is committed (before any wait)."""

    def __init__(self, on_event: EventListener | None = None) -> None:
        super().__init__(clock=RealClock())
        self._on_event = on_event
        self._told: dict[str, int] = {}

    def _drain(self) -> None:
        super()._drain()
        if self._on_event is None:
            return
        for run_id, journal in list(self.journals.items()):
            told = self._told.get(run_id, 0)
            for event in self.events(run_id)[told:]:
                self._on_event(run_id, event)
            self._told[run_id] = len(journal)


def run_local(workflow: Any, *args: Any, **kwargs: Any) -> Any:
    """Run ``workflow`` in this process to its result (raises ``WorkflowFailedError``
    when it fails); timers wait real time. A ``durable=False`` workflow runs
    transient."""
    if is_transient(workflow):
        return run_transient(workflow, *args, **kwargs)
    with LocalRuntime() as runtime:
        return runtime.run(workflow, *args, **kwargs)
