"""What starting a run writes, decided before anything is written.

Used by the client's start (``pyworkflow.client.core``, for both faces) and the
test environments: the arguments are validated against the workflow's signature
and encoded (refusing what JSON cannot carry, naming the argument), and the run's
first record and its start message (``wire.StartRun``) are built here, before any
I/O.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from . import serialization
from .ids import new_run_id, start_message_id
from .limits import check_idempotency_key
from .registry import WorkflowDef, get_workflow
from .routing import DEFAULT_PRIORITY, DEFAULT_QUEUE, Route, check_priority, check_queue
from .wire import StartRun, encode


@dataclass(frozen=True)
class StartPlan:
    run_id: str
    workflow: str
    record: dict[str, str]
    #: the start message, as a wire shape: a client adds its trace before encoding it
    start: StartRun
    msg_id: str
    created_at: float

    @property
    def message(self) -> dict[str, Any]:
        """The start message's payload, encoded (without a trace)."""
        return encode(self.start)


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


def route_of(defn: WorkflowDef, queue: str | None = None,
             priority: int | None = None) -> Route:
    """A new run's route: what the start names, else what the workflow declares, else the
    default; a bad queue name or priority is refused here, before anything is written."""
    return Route(
        check_queue(queue) if queue is not None else defn.options.get("queue", DEFAULT_QUEUE),
        check_priority(priority) if priority is not None
        else defn.options.get("priority", DEFAULT_PRIORITY))


def plan_start(workflow_or_name: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
               idempotency_key: str | None = None, queue: str | None = None,
               priority: int | None = None, *, built_key: bool = False) -> StartPlan:
    """What starting a run writes; everything is checked first, nothing is written here.

    ``idempotency_key`` is held to ``limits.MAX_IDEMPOTENCY_KEY_CHARS`` printable
    characters (``TypeError``/``ValueError`` naming the bound), the one check every
    start makes (both client faces, the CLI, the test environments). ``built_key``: the
    key was built by pyworkflow from parts already checked (a singleton start's,
    ``client.flow_start.singleton_key``: the workflow's name and a checked ``key=``),
    not given by the caller, so the caller's bound does not apply to it."""
    if idempotency_key is not None and not built_key:
        check_idempotency_key(idempotency_key)
    defn = workflow_def(workflow_or_name)
    if defn.options.get("durable") is False:
        raise TypeError(f"workflow {defn.name} is declared durable=False: it runs in the "
                        "caller's process (pyworkflow.run_transient, or workflows run "
                        "--no-durable), not on workers")
    route = route_of(defn, queue, priority)
    enc_args, enc_kwargs = encode_arguments(defn, args, kwargs)
    limit = defn.options.get("concurrency")
    if limit is not None:  # its key's value must be computable and within its size limit
        limit.key_value(defn.fn, args, kwargs)
    run_id = new_run_id(route)
    now = time.time()
    record = {"run_id": run_id, "workflow": defn.name, "status": "pending",
              "args": json.dumps(enc_args), "kwargs": json.dumps(enc_kwargs),
              "created_at": repr(now), "updated_at": repr(now)}
    if idempotency_key is not None:  # retention lets go of the key with the run
        record["idempotency_key"] = idempotency_key
    message = StartRun(workflow=defn.name, args=enc_args, kwargs=enc_kwargs)
    return StartPlan(run_id, defn.name, record, message, start_message_id(run_id), now)
