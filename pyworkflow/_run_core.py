"""What every part of the replay engine may rely on: a run's state and its verbs.

The engine is one class (``Replayer``) assembled from mixins, one per kind of
command (``_steps``, ``_waits``, ``_cancel``, ``_children``). This base declares the
state they share and the verbs one mixin calls on another, so each file reads on
its own and the type checker sees the whole.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from actors import TurnContext

from ._history import History
from ._loop import WorkflowLoop
from .errors import NonDeterminismError

if TYPE_CHECKING:
    from ._replayer import Command


class RunCore:
    run_id: str
    queues: dict[str, str]
    history: History
    loop: WorkflowLoop
    task: asyncio.Task[Any] | None
    next_call_id: int
    futures: dict[int, asyncio.Future[Any]]
    unmatched: collections.deque[Command]
    ctx: TurnContext | None
    divergence: NonDeterminismError | None
    now_ms: int
    depth: int
    parent: dict[str, Any] | None
    after_commit: list[Callable[[], Any]]
    hook_callbacks: dict[int, Callable[[str], Any]]
    child_results: dict[int, asyncio.Future[Any]]
    child_outcomes: dict[int, str]
    masked: set[int]
    step_lease_key: str | None

    def emit(self, etype: str, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def resolve(self, etype: str, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def new_command(self, kind: str, name: str, payload: dict[str, Any]) -> asyncio.Future[Any]:
        raise NotImplementedError

    def _run(self) -> None:
        raise NotImplementedError

    def checkpoint(self) -> None:
        raise NotImplementedError

    def shielded(self) -> bool:
        raise NotImplementedError

    def wait_timer_id(self, call_id: int) -> str:
        raise NotImplementedError

    def retry_timer_id(self, call_id: int, attempt: int) -> str:
        raise NotImplementedError

    def retry_due(self, payload: dict[str, Any]) -> None:
        raise NotImplementedError

    def dispatch_step(self, call_id: int, name: str, data: dict[str, Any],
                      attempt: int) -> None:
        raise NotImplementedError

    def close_children(self) -> None:
        raise NotImplementedError

    def notify_parent(self, status: str, result: Any, error: dict[str, Any] | None) -> None:
        raise NotImplementedError

    def park(self, data: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def step_lost_decision(self, call_losses: int, retries_left: bool) -> str:
        raise NotImplementedError

    def fail_for_worker_loss(self, where: str) -> None:
        raise NotImplementedError

    def child_result(self, call_id: int) -> Any:
        raise NotImplementedError

    def child_status(self, call_id: int) -> str:
        raise NotImplementedError
