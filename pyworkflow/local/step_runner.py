"""Steps run in the test environment's own process, real or mocked.

An attempt runs its step function (or the mock set with ``mock_step``) in the same
frame a worker's step task uses (:class:`~pyworkflow.step_attempt.Attempt`), so its
outcome is the one a worker would report (``retry_at_ms`` for a
``RetryableError(retry_after=...)`` by the virtual clock).

Two things a worker gives a step are given here the worker's own way:

* **Cancellation.** The step's context gets a :class:`~pyworkflow.step_context.CancelWatch`
  whose probe reads the environment's record of the run (``cancel_requested``, which a
  cancel's turn projects there, as on a worker), so ``check_cancellation()`` raises
  once the run is being cancelled.
* **Timeout.** The body is called as every runtime calls it
  (:func:`~pyworkflow.step_timeout.run_body`): an ``async`` step runs under
  ``asyncio.wait_for(timeout)`` and is cancelled there; a sync step cannot be stopped
  in-process (as on a worker without prefork), so one that runs past its timeout has
  its result discarded and fails with ``StepTimeoutError``. The time measured is wall
  time, also under the virtual clock: the clock stands still while a step runs, so it
  cannot time one.
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
from ..step_context import CancelWatch, StepContext
from ..step_timeout import run_body
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

    def body(self) -> Callable[..., Any]:
        """The mock as a step body: ``async`` when its side effect is, so a mocked
        slow step is timed (and cancelled) as the real one would be."""
        if inspect.iscoroutinefunction(self.side_effect):
            async def async_body(*args: Any, **kwargs: Any) -> Any:
                return await self(*args, **kwargs)
            return async_body
        return self


def _run_coroutine(coro: Any) -> Any:
    """Run a coroutine to its end, even when the caller is inside an event loop
    (``async with WorkflowEnvironment()``): then on a thread of its own."""
    return _off_the_loop(asyncio.run, coro)


def _off_the_loop(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` here, or, when this thread runs an event loop (where
    ``asyncio.run`` is refused), on a thread of its own with this context (the step
    context travels with it)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args)
    context = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(context.run, fn, *args).result()


def run_attempt(task: StepAttempt, mocks: dict[str, StepMock], now_ms: Callable[[], int],
                cancel_requested: Callable[[], bool] | None = None) -> StepOutcome:
    """One step attempt, framed as every runtime frames it (:class:`Attempt`): the
    outcome its ``step-completed``/``step-failed`` report carries. ``cancel_requested``
    is what the step's ``check_cancellation`` reads (the run's record)."""
    name = task.step
    ctx = StepContext(task.run_id, task.call_id, name, task.attempt,
                      CancelWatch(cancel_requested), workflow=task.workflow)
    with Attempt(ctx, now_ms) as frame:
        mock = mocks.get(name)
        fn: Callable[..., Any]
        if mock is not None:
            fn = mock.body()
        else:
            defn = get_step(name)
            if defn is None:
                raise LookupError(f"step {name!r} is not registered in this process")
            fn = defn.fn
        args = serialization.decode(task.args or [])
        kwargs = serialization.decode(task.kwargs or {})
        if inspect.iscoroutinefunction(fn):
            result = _off_the_loop(run_body, fn, args, kwargs, task.timeout, name)
        else:
            result = run_body(fn, args, kwargs, task.timeout, name)
        if inspect.isawaitable(result):  # a sync callable (a mock) that returned one
            result = _run_coroutine(result)
        frame.succeed(result)
    return frame.outcome
