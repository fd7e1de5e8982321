"""The local runtime: a durable workflow run in this process, for real.

``pyworkflow --runtime local ... workflows run`` and ``run_local(wf, ...)`` use it
when you want a workflow's whole behaviour (journal, step retries, timers,
cancellation, children) without Redis or a worker: while developing, in a script,
in a notebook. It is the test environment's machinery (``WorkflowEnvironment``:
the real engine, a mailbox, in-memory journal and hook store, steps run in-process)
on a ``RealClock``: a timer is waited for, not skipped, so a ``sleep("5s")`` takes
five seconds and fires by itself.

By default the journal lives in memory and ends with the process. Given a
``LocalJournal`` (the CLI gives one when a Redis answers: ``local_journal.py``), the
runtime saves its whole state after every turn and step attempt, and ``resume``
continues a run a stopped process left. ``events(run_id)`` returns a journal in the
shape ``runs export`` writes, so ``pyworkflow.testing.replay`` can replay it. A
workflow declared ``@workflow(durable=False)`` runs transient here (see
``transient.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._start_plan import plan_start
from .local_journal import LocalJournal, LocalRunError
from .testing.clock import RealClock
from .testing.environment import RunHandle, WorkflowEnvironment
from .transient import is_transient, run_transient

EventListener = Callable[[str, dict[str, Any]], None]


class LocalRuntime(WorkflowEnvironment):
    """A ``WorkflowEnvironment`` on the wall clock; ``on_event(run_id, event)`` is
    told of each journal event soon after it is committed (before any wait)."""

    def __init__(self, on_event: EventListener | None = None,
                 journal: LocalJournal | None = None) -> None:
        super().__init__(clock=RealClock())
        self._on_event = on_event
        self._told: dict[str, int] = {}
        self._journal = journal

    def start(self, workflow: Any, *args: Any, **kwargs: Any) -> RunHandle:
        """Start a run and run it until it waits (see ``begin``)."""
        handle = self.begin(workflow, *args, **kwargs)
        self._drain()
        return handle

    def begin(self, workflow: Any, *args: Any, **kwargs: Any) -> RunHandle:
        """Start a run without running anything yet: it goes on when waited on. With a
        journal, the first run started is the one saved (its children with it)."""
        plan = plan_start(workflow, args, kwargs)
        if self._journal is not None and self._journal.run_id is None:
            self._journal.own(plan.run_id)
        return self._start_planned(plan)

    def resume(self, run_id: str, workflow: str | None = None) -> RunHandle:
        """Load a saved run into this (fresh) runtime and go on from where it stopped.
        It goes on when waited on (``handle.result()``, ``wait``); its earlier events
        are not told again. With ``workflow``, a saved run of another workflow is
        refused before anything runs."""
        if self._journal is None:
            raise ValueError("resume needs a LocalJournal (a Redis the run was saved in)")
        if self.journals:
            raise ValueError("resume loads a saved run into a fresh runtime")
        self._journal.own(run_id)
        try:
            self._journal.load(self, run_id)
            saved = self.get_run(run_id).workflow
            if workflow is not None and saved != workflow:
                raise LocalRunError(f"local run {run_id} is a run of {saved!r}, "
                                    f"not {workflow!r}")
        except BaseException:
            self._journal.close()
            raise
        self._told = {owner: len(journal) for owner, journal in self.journals.items()}
        return RunHandle(self, run_id)

    def close(self) -> None:
        super().close()
        if self._journal is not None:
            self._journal.close()

    def _after_action(self) -> None:
        if self._journal is not None:
            self._journal.save(self)

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
