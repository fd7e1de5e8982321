"""What starting a run writes, decided before anything is written.

Shared by the sync client and ``pyworkflow.aio``: both validate the arguments
against the workflow's signature, encode them (refusing what JSON cannot carry,
naming the argument) and build the run's first record and its start message here,
then do only the I/O themselves.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from . import serialization
from .ids import new_run_id, start_message_id
from .registry import WorkflowDef, get_workflow


@dataclass(frozen=True)
class StartPlan:
    run_id: str
    workflow: str
    record: dict[str, str]
    message: dict[str, Any]
    msg_id: str
    created_at: float


def workflow_def(workflow_or_name: Any) -> WorkflowDef:
    if isinstance(workflow_or_name, str):
        return get_workflow(workflow_or_name)
    defn = getattr(workflow_or_name, "__pyworkflow_workflow__", None)
    if defn is None:
        raise TypeError(f"{workflow_or_name!r} is not a workflow: decorate it with @workflow")
    return defn  # type: ignore[no-any-return]


def encode_arguments(defn: WorkflowDef, args: tuple[Any, ...], kwargs: dict[str, Any],
                     what: str = "") -> tuple[list[Any], dict[str, Any]]:
    """Check a run's arguments against the workflow's signature and encode them as
    JSON (within the input limits); raises ``TypeError``/``SerializationError`` naming
    the workflow, before anything is written. ``what`` prefixes the message (a child)."""
    try:
        defn.signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"{what}{exc} for {defn.name}{defn.signature}") from None
    names = [p.name for p in defn.signature.parameters.values()]
    return serialization.check_arguments(args, kwargs, names)


def plan_start(workflow_or_name: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
               idempotency_key: str | None = None) -> StartPlan:
    defn = workflow_def(workflow_or_name)
    if defn.options.get("durable") is False:
        raise TypeError(f"workflow {defn.name} is declared durable=False: it runs in the "
                        "caller's process (pyworkflow.run_transient, or workflows run "
                        "--no-durable), not on workers")
    enc_args, enc_kwargs = encode_arguments(defn, args, kwargs)
    run_id = new_run_id()
    now = time.time()
    record = {"run_id": run_id, "workflow": defn.name, "status": "pending",
              "args": json.dumps(enc_args), "kwargs": json.dumps(enc_kwargs),
              "created_at": repr(now), "updated_at": repr(now)}
    if idempotency_key is not None:  # retention lets go of the key with the run
        record["idempotency_key"] = idempotency_key
    message = {"workflow": defn.name, "args": enc_args, "kwargs": enc_kwargs}
    return StartPlan(run_id, defn.name, record, message, start_message_id(run_id), now)
