"""Steps run in the test environment's own process, real or mocked.

An attempt runs its step function (or the mock set with ``mock_step``) with the step
context set, and reports back the message a worker's step task would send, with
the same fields (``ok``, ``result`` or ``error_type``/``error``/``traceback``, and
``retry_at_ms`` for a ``RetryableError(retry_after=...)``, by the virtual clock).
A step's ``timeout`` is not enforced here (nothing preempts a step in-process).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .. import serialization
from ..errors import RetryableError
from ..registry import get_step
from ..step_context import StepContext, reset_step_context, set_step_context


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


def run_attempt(job: dict[str, Any], mocks: dict[str, StepMock],
                now_ms: Callable[[], int]) -> dict[str, Any]:
    """One step attempt: the payload of its ``step-completed``/``step-failed`` report."""
    name, run_id = job["step"], job["run_id"]
    payload: dict[str, Any] = {"call_id": job["call_id"], "attempt": job["attempt"]}
    token = set_step_context(StepContext(run_id, job["call_id"], name, job["attempt"]))
    try:
        fn: Callable[..., Any] | None = mocks.get(name)
        if fn is None:
            defn = get_step(name)
            if defn is None:
                raise LookupError(f"step {name!r} is not registered in this process")
            fn = defn.fn
        result = fn(*serialization.decode(job["args"]), **serialization.decode(job["kwargs"]))
        if inspect.isawaitable(result):
            result = _run_coroutine(result)
        payload.update(ok=True, result=serialization.encode(result, path=f"{name} result"))
    except Exception as exc:
        payload.update(ok=False, error_type=type(exc).__name__, error=str(exc),
                       traceback="".join(traceback.format_exception(exc)))
        if isinstance(exc, RetryableError):
            payload["retry_at_ms"] = exc.retry_after_ms(now_ms())
    finally:
        reset_step_context(token)
    return payload
