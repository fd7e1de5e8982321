"""Child workflows: ``start_child_workflow`` and what it returns.

A child is a run of its own; its start is recorded in the parent's journal, so a
replayed or recovered parent never starts it twice (see ``engine/commands/child``).
"""

from __future__ import annotations

import enum
from typing import Any

from .._start_plan import encode_arguments, workflow_def
from ..engine import Run, in_workflow
from ..engine.commands import CANCEL_CHILD, CHILD, StartedChild
from ..engine.commands.child import ABANDON, REQUEST_CANCEL, TERMINATE

__all__ = ["ChildWorkflowHandle", "ParentClosePolicy", "start_child_workflow"]


class ParentClosePolicy(enum.StrEnum):
    """What happens to a still-running child when its parent ends."""

    TERMINATE = TERMINATE  # cancel it; it ends cancelled once its cleanup has run
    REQUEST_CANCEL = REQUEST_CANCEL  # ask it to cancel; it may catch that and finish
    ABANDON = ABANDON  # leave it running


class ChildWorkflowHandle:
    """A started child: await ``result()``, or ``cancel()`` it, from the parent."""

    def __init__(self, run: Run, started: StartedChild) -> None:
        self._run = run
        self._call_id = started.call_id
        self.child_run_id = started.child_run_id
        self.workflow = started.workflow

    async def result(self) -> Any:
        return await CHILD.result(self._run, self._call_id)

    async def cancel(self, reason: str | None = None) -> None:
        await CANCEL_CHILD.schedule(self._run, self.workflow, self.child_run_id, reason)

    async def status(self) -> str:
        """The child's status as the parent's journal knows it (deterministic)."""
        return CHILD.status(self._run, self._call_id)


async def start_child_workflow(workflow: Any, *args: Any, wait_for_completion: bool = True,
                               parent_close_policy: ParentClosePolicy =
                               ParentClosePolicy.TERMINATE, **kwargs: Any) -> Any:
    """Start ``workflow`` as a child run; return its result, or with
    ``wait_for_completion=False`` a ``ChildWorkflowHandle`` at once.

    A child that cannot start (unknown workflow, arguments that do not fit its
    signature or cannot be serialised) raises here, in the parent, at the call.
    Deeper than 3 levels below the top run raises ``MaxNestingDepthError``.
    """
    run = in_workflow()
    if run is None:
        raise RuntimeError("start_child_workflow() can only be awaited inside a workflow")
    defn = workflow_def(workflow)
    enc_args, enc_kwargs = encode_arguments(defn, args, kwargs,
                                            f"cannot start child {defn.name}: ")
    started: StartedChild = await CHILD.schedule(
        run, defn.name, enc_args, enc_kwargs, wait_for_completion,
        ParentClosePolicy(parent_close_policy).value)
    handle = ChildWorkflowHandle(run, started)
    if not wait_for_completion:
        return handle
    return await handle.result()
