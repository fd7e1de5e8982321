"""``start_child_workflow``: run another workflow as a child of this run."""

from __future__ import annotations

from typing import Any

from . import serialization
from ._children import ChildWorkflowHandle, ParentClosePolicy
from ._context import in_workflow
from .registry import get_workflow

__all__ = ["ChildWorkflowHandle", "ParentClosePolicy", "start_child_workflow"]


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
    name = workflow if isinstance(workflow, str) else getattr(
        workflow, "__pyworkflow_workflow__", None) and workflow.__pyworkflow_workflow__.name
    if not name:
        raise TypeError(f"{workflow!r} is not a workflow: decorate it with @workflow")
    defn = get_workflow(name)
    try:
        defn.signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"cannot start child {name}: {exc} for {name}{defn.signature}") from None
    names = [p.name for p in defn.signature.parameters.values()]
    enc_args, enc_kwargs = serialization.check_arguments(args, kwargs, names)
    handle: ChildWorkflowHandle = await run.schedule_child(
        name, enc_args, enc_kwargs, wait_for_completion, ParentClosePolicy(parent_close_policy))
    if not wait_for_completion:
        return handle
    return await handle.result()
