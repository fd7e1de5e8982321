"""The local runtime: a durable workflow run in this process, for real.

``pyworkflow --runtime local ... workflows run`` and ``run_local(wf, ...)`` use it
when you want a workflow's whole behaviour (journal, step retries, timers,
cancellation, children) without Redis or a worker: while developing, in a script,
in a notebook. It is the test environment's machinery (``WorkflowEnvironment``:
the real engine, a mailbox, in-memory journal and hook store, steps run in-process)
on a ``RealClock``: a timer is waited for, not skipped, so a ``sleep("5s")`` takes
five seconds and fires by itself.

By default the journal lives in memory and ends with the process. Given a
``LocalJournal`` (the CLI gives one when a Redis answers: ``journal.py``), the
runtime saves its whole state after every turn and step attempt, and ``resume``
continues a run a stopped process left. ``events(run_id)`` returns a journal in the
shape ``runs export`` writes, so ``pyworkflow.testing.replay`` can replay it. A
workflow declared ``@workflow(durable=False)`` runs transient here (see
``transient.py``).

What a worker gives a run, this gives it the same way (see ``WorkflowEnvironment``):
``start(..., idempotency_key=K)`` gives the same run for the same key (kept in this
runtime's memory, and saved with the run when there is a journal), a step's
``timeout`` is enforced as on a worker without prefork, and a step's
``check_cancellation()`` raises once its run is being cancelled. A cancel reaches a
*running* step only from another thread (the thread driving the run is inside the
step), so ``cancel`` is the one method another thread may call while this runtime
drives a run: it is handed over (``_hand_over_cancel``) instead of driving the
runtime from two threads at once. The running step sees it at once through its
context, the run's own thread handles it as its next turn (before the step's
outcome, as a worker's run would), and a run waiting on a timer is woken for it.
Every other method belongs to one thread at a time: a second thread calling one
waits until the first is done driving.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

from actors.message import Message

from .. import wire
from ..errors import RunNotFoundError
from ..run_info import RunInfo, run_info_from_record
from ..worker.idempotency import IfFinished
from .clock import RealClock
from .environment import RunHandle, WorkflowEnvironment
from .journal import LocalJournal, LocalRunError
from .transient import is_transient, run_transient

EventListener = Callable[[str, dict[str, Any]], None]
F = TypeVar("F", bound=Callable[..., Any])


def _drives(method: F) -> F:
    """The method drives the runtime: one thread at a time (see the module's docstring)."""
    @functools.wraps(method)
    def driving(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._drive_lock:
            return method(self, *args, **kwargs)
    return cast(F, driving)


class LocalRuntime(WorkflowEnvironment):
    """A ``WorkflowEnvironment`` on the wall clock; ``on_event(run_id, event)`` is
    told of each journal event soon after it is committed (before any wait)."""

    def __init__(self, on_event: EventListener | None = None,
                 journal: LocalJournal | None = None) -> None:
        self._wall = RealClock()
        super().__init__(clock=self._wall)
        self._on_event = on_event
        self._told: dict[str, int] = {}
        self._journal = journal
        self._drive_lock = threading.RLock()
        self._handover_lock = threading.Lock()
        self._handed_over: list[Message] = []
        self._cancels_asked: set[str] = set()

    @_drives
    def start(self, workflow: Any, *args: Any, idempotency_key: str | None = None,
              if_finished: IfFinished = "return", **kwargs: Any) -> RunHandle:
        """Start a run and run it until it waits (see ``begin``)."""
        handle = self.begin(workflow, *args, idempotency_key=idempotency_key,
                            if_finished=if_finished, **kwargs)
        self._drain()
        return handle

    @_drives
    def begin(self, workflow: Any, *args: Any, idempotency_key: str | None = None,
              if_finished: IfFinished = "return", **kwargs: Any) -> RunHandle:
        """Start a run without running anything yet: it goes on when waited on. With a
        journal, the first run started is the one saved (its children with it). With
        ``idempotency_key``, as ``WorkflowEnvironment.start``: a key that names a run
        gives that run (nothing new is started or owned)."""
        plan = self._plan(workflow, args, kwargs, idempotency_key, if_finished)
        if isinstance(plan, str):
            return RunHandle(self, plan)
        if self._journal is not None and self._journal.run_id is None:
            self._journal.own(plan.run_id)
        return self._start_planned(plan)

    wait = _drives(WorkflowEnvironment.wait)
    advance = _drives(WorkflowEnvironment.advance)
    send_signal = _drives(WorkflowEnvironment.send_signal)
    resume_hook = _drives(WorkflowEnvironment.resume_hook)
    retry = _drives(WorkflowEnvironment.retry)

    def cancel(self, run_id: str, reason: str | None = None) -> RunInfo:
        """Cancel the run. Called while another thread drives this runtime (a step of
        the run is running there, or the run waits on a timer), the cancel is handed
        over to that thread and the run's state as of now is returned (it ends
        cancelled once that thread has handled it); otherwise it is handled here."""
        if not self._drive_lock.acquire(blocking=False):
            return self._hand_over_cancel(run_id, reason)
        try:
            return super().cancel(run_id, reason)
        finally:
            self._drive_lock.release()

    def _hand_over_cancel(self, run_id: str, reason: str | None) -> RunInfo:
        record = dict(self.records.get(run_id) or {})  # one copy: the driver writes it
        if not record:
            raise RunNotFoundError(run_id)
        info = run_info_from_record(run_id, {k.encode(): v.encode() for k, v in record.items()})
        if info.finished:
            return info
        message = Message("cancel", run_id, wire.encode(wire.CancelRun(reason=reason,
                                                                        force=True)))
        with self._handover_lock:
            self._cancels_asked.add(run_id)
            self._handed_over.append(message)
        self._wall.wake()
        return info

    def _take_handovers(self) -> None:
        with self._handover_lock:
            handed, self._handed_over = self._handed_over, []
        self._mailbox.extend(handed)

    def _cancel_requested(self, run_id: str) -> bool:
        """A cancel handed over from another thread counts at once: the running step is
        what it is for, and the run's turn for it comes only after the step."""
        return run_id in self._cancels_asked or super()._cancel_requested(run_id)

    @_drives
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

    @_drives
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
