"""Steps run in the test environment's own process, real or mocked.

An attempt runs its step function (or the mock set with ``mock_step``) in the same
frame a worker's step task uses (:class:`~pyworkflow.step_attempt.Attempt`), so its
outcome is the one a worker would report (``retry_at_ms`` for a
``RetryableError(retry_after=...)`` by the virtual clock).
A step's ``timeout`` is not enforced here (nothing preempts a step in-process).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .. import serialization
from ..registry import get_step
from ..step_attempt import Attempt
from ..step_context import StepContext
from ..wire import StepAttempt, StepOutcome


@dataclass
class StepMock:
    """What ``mock_step`` set: a value to return, or a ``side_effect`` (a callable
    called with the step's arguments, an exception to raise, or an iterable whose
    items are returned, or raised when they are exceptions, one per attempt)."""

    return_value: Any = None
    side_effect: Any = None
    _items: Iterator[Any] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        effect = self.side_effect
        if effect is None:
            return self.return_value
        if isinstance(effect, BaseException) or (
                isinstance(effect, type) and issubclass(effect, BaseException)):
            raise effect
        if callable(effect):
            return effect(*args, **kwargs)
        if self._items is None:
            self._items = iter(effect)
        item = next(self._items)
        if isinstance(item, BaseException):
            raise item
        return item


def _run_coroutine(coro: Any) -> Any:
    """Run a step's coroutine to its end, even when the caller is inside an event loop
    (``async with WorkflowEnvironment()``): then on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    context = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(context.run, asyncio.run, coro).result()


def run_attempt(task: StepAttempt, mocks: dict[str, StepMock],
                now_ms: Callable[[], int]) -> StepOutcome:
    """One step attempt, framed as every runtime frames it (:class:`Attempt`): the
    outcome its ``step-completed``/``step-failed`` report carries."""
    name = task.step
    with Attempt(StepContext(task.run_id, task.call_id, name, task.attempt), now_ms) as frame:
        fn: Callable[..., Any] | None = mocks.get(name)
        if fn is None:
            defn = get_step(name)
            if defn is None:
                raise LookupError(f"step {name!r} is not registered in this process")
            fn = defn.fn
        result = fn(*serialization.decode(task.args or []),
                    **serialization.decode(task.kwargs or {}))
        if inspect.isawaitable(result):
            result = _run_coroutine(result)
        frame.succeed(result)
    return frame.outcome
