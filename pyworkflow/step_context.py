"""What a running step attempt knows about itself.

``idempotency_key`` is the same for every attempt of one step call in one run, so
a step can pass it to an external API (a payment provider) and a retried or
re-delivered attempt is recognised there as the same request.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class StepContext:
    run_id: str
    call_id: int
    step: str
    attempt: int

    @property
    def idempotency_key(self) -> str:
        return f"{self.run_id}:{self.call_id}"


_current: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar(
    "pyworkflow_step_context", default=None)


def get_step_context() -> StepContext:
    """The context of the step attempt running in this task; an error elsewhere."""
    ctx = _current.get()
    if ctx is None:
        raise RuntimeError("get_step_context() is only available inside a running step")
    return ctx


def set_step_context(ctx: StepContext | None) -> contextvars.Token[StepContext | None]:
    return _current.set(ctx)


def reset_step_context(token: contextvars.Token[StepContext | None]) -> None:
    _current.reset(token)
