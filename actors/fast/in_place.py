"""Tasks a worker keeps for itself: the next task a task sends, run right after it.

A sequential workflow sends one step task per step; each goes through the broker
and back to some pool process, which costs more than a short step itself. While
a task holds an open :class:`InPlaceWindow`, the first task it sends whose name
was accepted (``InPlaceTasks.accept``) is kept here instead of being published;
the sending task runs it when it is done with its own work (``take``), and so on,
until the window's time budget is spent: then tasks go to the broker again, so a
long chain of steps does not keep other work waiting on this process.

Keeping a task also lets the sender put off the bookkeeping it would have done
in a round trip of its own after sending (deleting what it dispatched from its
outbox, dropping a lease): ``defer`` hands those commands to the kept task, whose
first pipeline carries them (``take_deferred``). Each is safe to run late (the
actor's dispatching mark and lease expiry cover the gap, as they cover a process
that dies right after sending), and whatever no kept task took is run when the
window closes. A sender that knows before its commit that it will keep the task (a
turn ending right after it, ``end_in_commit``) goes further: the writes the
task's run begins with (``prepare``, a step's lease) go in that commit's round trip,
made only if the commit happens, and the task finds their replies in ``prepared``.

Nothing is lost by keeping a task: the sender's outbox still holds it until the
kept task's first round trip deletes the entry (and, when the sender dispatched it
after its release, its watch entry covers it too, see ``EnqueueTask``), so a process
that dies holding a kept task leaves it to recovery, exactly as a turn that died
before dispatching; the receiver's lease covers it once it runs. Only one task is kept
at a time; the others a turn sends (parallel steps) go to the broker and run
elsewhere at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .. import log as _log
from .conditional_writes import ConditionalWrites

#: How long one Celery task may go on running tasks it kept for itself.
IN_PLACE_BUDGET_S = 0.1
#: A sender that decides to keep a task a round trip before it keeps it wants this much
#: of the budget left (``would_keep``).
_SPARE_S = 0.005

logger = _log.get_logger("actors.in_place")


@dataclass(frozen=True)
class KeptTask:
    """A task sent while a window was open and kept to run here. ``prepared``: the
    replies of the writes its acceptance's ``prepare`` queued in the sender's commit
    (``ConditionalWrites``), when the sender made them there."""

    name: str
    args: list[Any]
    kwargs: dict[str, Any]
    task_id: str | None
    queue: str | None
    prepared: list[Any] | None = None
    priority: int | None = None


class InPlaceWindow:
    """An open window: holds at most one kept task until its budget is spent."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.kept: KeptTask | None = None
        self.deferred: list[_Deferred] = []

    def take_deferred(self) -> list[_Deferred]:
        ops, self.deferred = self.deferred, []
        return ops

    def take(self) -> KeptTask | None:
        """The kept task, to run now (the slot is free again)."""
        kept, self.kept = self.kept, None
        return kept


class _Counting:
    """A pipeline seen by a deferred builder: counts the commands it queues."""

    def __init__(self, pipe: Any) -> None:
        self._pipe = pipe
        self.count = 0

    def __getattr__(self, name: str) -> Callable[..., Any]:
        command = getattr(self._pipe, name)

        def queue(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return command(*args, **kwargs)

        return queue


@dataclass
class _Deferred:
    build: Callable[[Any], None]
    after: Callable[[list[Any]], None] | None
    count: int = 0


class DeferredOps:
    """Commands put off by the task before: queued first on the taker's pipeline, their
    results given back to their owners (``done``). One whose result is an error (a
    script Redis no longer knows after a restart) is run again on its own, which every
    deferred command allows (deletes, compare-and-deletes, reads)."""

    def __init__(self, items: list[_Deferred], pipeline: Callable[[Callable[[Any], None]],
                                                                  list[Any]]) -> None:
        self._items = items
        self._pipeline = pipeline

    def build(self, pipe: Any) -> None:
        for item in self._items:
            counting = _Counting(pipe)
            item.build(counting)
            item.count = counting.count

    def done(self, results: list[Any]) -> list[Any]:
        """Hand the deferred commands their results (``results`` starts with theirs);
        returns the rest."""
        at = 0
        for item in self._items:
            mine, at = results[at:at + item.count], at + item.count
            if any(isinstance(r, Exception) for r in mine):
                mine = self._pipeline(item.build)
            if item.after is not None:
                try:
                    item.after(mine)
                except Exception as exc:  # follow-ups only: leases and recovery cover them
                    logger.warning("a deferred command's follow-up failed", error=str(exc))
        return results[at:]

    def run(self) -> None:
        """Nobody took them: one round trip of their own."""
        if self._items:
            self.done(self._pipeline(self.build))


@dataclass(frozen=True)
class _Acceptance:
    when: Callable[[KeptTask], bool]
    run: Callable[[KeptTask], None]
    prepare: Callable[[KeptTask, ConditionalWrites], None] | None


class InPlaceTasks:
    """A process's in-place slot: which tasks may be kept and how they run, and each
    thread's window, if open (a threads pool runs several tasks at once)."""

    def __init__(self, publish: Callable[[KeptTask], None],
                 pipeline: Callable[[Callable[[Any], None]], list[Any]],
                 can_defer: bool = True, budget_s: float = IN_PLACE_BUDGET_S) -> None:
        self.budget_s = budget_s
        self._publish = publish
        self._pipeline = pipeline
        #: False on a Redis Cluster: the taker's pipeline could not carry scripts
        self._can_defer = can_defer
        self._accepted: dict[str, _Acceptance] = {}
        self._local = threading.local()

    def accept(self, name: str, when: Callable[[KeptTask], bool],
               run: Callable[[KeptTask], None],
               prepare: Callable[[KeptTask, ConditionalWrites], None] | None = None) -> None:
        """Tasks named ``name`` may be kept when ``when(task)`` says so (e.g. the task's
        queue is one this worker consumes), and are then run with ``run(task)``.
        ``prepare(task, writes)``: the writes the task's run would begin with, which a
        sender that keeps it may make in its own commit's round trip (``run`` then finds
        their replies in ``task.prepared``)."""
        self._accepted[name] = _Acceptance(when, run, prepare)

    def would_keep(self, task: KeptTask) -> bool:
        """Whether ``offer(task)`` would keep it now (with time to spare: the sender
        keeps it after one more round trip, with ``keep``)."""
        window = self._open_window()
        acceptance = self._accepted.get(task.name)
        return (window is not None and acceptance is not None and acceptance.when(task)
                and time.monotonic() < window.deadline - _SPARE_S)

    def prepare(self, task: KeptTask) -> ConditionalWrites | None:
        """The writes ``task``'s run would begin with, for its sender's commit."""
        acceptance = self._accepted.get(task.name)
        if acceptance is None or acceptance.prepare is None:
            return None
        writes = ConditionalWrites()
        acceptance.prepare(task, writes)
        return writes

    def keep(self, task: KeptTask) -> None:
        """Keep ``task`` (``would_keep`` said so, a round trip ago): in this thread's
        window whatever its budget now, or, the window gone, run it right here."""
        window: InPlaceWindow | None = getattr(self._local, "window", None)
        if window is None or window.kept is not None:
            self._run_kept(task)
            return
        window.kept = task

    @contextmanager
    def running(self) -> Iterator[None]:
        """Open a window for the task running now; when its body is done, run what it
        kept (and what those keep, within the budget). Nested: the outer one runs them."""
        if getattr(self._local, "window", None) is not None:
            yield
            return
        window = self._local.window = InPlaceWindow(time.monotonic() + self.budget_s)
        try:
            yield
            while (kept := window.take()) is not None:
                self._run_kept(kept)
                if window.kept is None:  # else the next kept task carries them
                    self._run_deferred(window)
        finally:
            self._local.window = None
            left = window.take()  # the body raised with a task kept: send it after all
            if left is not None:
                self._publish(left)
            self._run_deferred(window)

    def _run_deferred(self, window: InPlaceWindow) -> None:
        ops = window.take_deferred()
        if ops:
            try:
                DeferredOps(ops, self._pipeline).run()
            except Exception as exc:  # late bookkeeping: expiries cover what it missed
                logger.warning("deferred commands failed", error=str(exc))

    def defer(self, build: Callable[[Any], None],
              after: Callable[[list[Any]], None] | None = None) -> bool:
        """Put off the commands ``build(pipe)`` queues until the kept task's first round
        trip (``after(results)`` then gets their results); False, deferring nothing, when
        no task is kept here: run them now."""
        window: InPlaceWindow | None = getattr(self._local, "window", None)
        if not self._can_defer or window is None or window.kept is None:
            return False
        window.deferred.append(_Deferred(build, after))
        return True

    def take_deferred(self) -> DeferredOps | None:
        """For a kept task's first pipeline: the commands put off for it, if any."""
        window: InPlaceWindow | None = getattr(self._local, "window", None)
        ops = window.take_deferred() if window is not None else []
        return DeferredOps(ops, self._pipeline) if ops else None

    def _run_kept(self, kept: KeptTask) -> None:
        """A kept task that raises is sent through the broker, as the task it would have
        been (whose own retry policy then applies); never the holder's failure."""
        try:
            self._accepted[kept.name].run(kept)
        except Exception as exc:
            logger.warning("a task run in place raised; sending it through the broker",
                           task=kept.name, task_id=kept.task_id, error=str(exc))
            try:
                self._publish(kept)
            except Exception as send_exc:  # its watch entry expires and it is sent again
                logger.warning("could not send it either; its sender's recovery will",
                               task=kept.name, task_id=kept.task_id, error=str(send_exc))

    def offer(self, task: KeptTask) -> bool:
        """Keep ``task`` if this thread has a window open, its slot free, its budget not
        spent and the task accepted; False: publish it as usual."""
        window = self._open_window()
        if window is None:
            return False
        acceptance = self._accepted.get(task.name)
        if acceptance is None or not acceptance.when(task):
            return False
        window.kept = task
        return True

    def _open_window(self) -> InPlaceWindow | None:
        """This thread's window, if open with its slot free and budget left."""
        window: InPlaceWindow | None = getattr(self._local, "window", None)
        if window is None or window.kept is not None or time.monotonic() > window.deadline:
            return None
        return window
