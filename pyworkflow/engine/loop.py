"""A deterministic event loop for workflow code.

Workflow code is ordinary ``async def``; it runs on this loop, owned by the turn.
The loop only runs ready callbacks, in order, until none are left: there is no I/O
and no clock, so the same inputs always produce the same interleaving. Futures
that workflow primitives return are resolved from the journal, which is why
``asyncio.gather`` and ``asyncio.wait`` over steps work unchanged. Anything that
needs real time (``asyncio.sleep``, ``loop.call_later``) is refused with a
pointer to the durable primitive.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
from asyncio import events
from collections.abc import Callable, Coroutine
from typing import Any


class NonDeterministicCall(RuntimeError):
    """Workflow code used something whose result the journal cannot replay."""


class WorkflowLoop(asyncio.AbstractEventLoop):
    def __init__(self) -> None:
        self._ready: collections.deque[asyncio.Handle] = collections.deque()
        self._running = False
        self._closed = False
        self._exceptions: list[dict[str, Any]] = []

    # -- running -------------------------------------------------------------------
    def run_until_idle(self) -> None:
        """Run ready callbacks until nothing is ready (workflow code is waiting)."""
        previous = events._get_running_loop()
        events._set_running_loop(self)
        self._running = True
        try:
            while self._ready:
                handle = self._ready.popleft()
                if not handle._cancelled:
                    handle._run()
        finally:
            self._running = False
            events._set_running_loop(previous)

    # -- what asyncio's futures and tasks need -------------------------------------
    def call_soon(  # type: ignore[override]
            self, callback: Callable[..., Any], *args: Any,
                  context: contextvars.Context | None = None) -> asyncio.Handle:
        handle = asyncio.Handle(callback, args, self, context)
        self._ready.append(handle)
        return handle

    def call_soon_threadsafe(  # type: ignore[override]
            self, callback: Callable[..., Any], *args: Any,
                             context: contextvars.Context | None = None) -> asyncio.Handle:
        raise NonDeterministicCall("workflow code cannot be called from other threads")

    def create_future(self) -> asyncio.Future[Any]:
        return asyncio.Future(loop=self)

    def create_task(
            self, coro: Coroutine[Any, Any, Any] | Any, *, name: str | None = None,
                    context: contextvars.Context | None = None) -> asyncio.Task[Any]:
        task = asyncio.Task(coro, loop=self, name=name, context=context)
        # A run evicted from a worker's cache drops its pending tasks: that is normal.
        task._log_destroy_pending = False  # type: ignore[attr-defined]
        return task

    def call_later(  # type: ignore[override]
            self, delay: float, callback: Callable[..., Any], *args: Any,
                   context: contextvars.Context | None = None) -> asyncio.TimerHandle:
        raise NonDeterministicCall(
            "asyncio.sleep() and timers are not durable inside a workflow; "
            "use `await pyworkflow.sleep(...)`")

    def call_at(  # type: ignore[override]
            self, when: float, callback: Callable[..., Any], *args: Any,
                context: contextvars.Context | None = None) -> asyncio.TimerHandle:
        return self.call_later(0, callback)

    def time(self) -> float:
        return 0.0

    def get_debug(self) -> bool:
        return False

    def is_running(self) -> bool:
        return self._running

    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True
        self._ready.clear()

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        self._exceptions.append(context)

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        self._exceptions.append(context)

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        pass
