"""The client API for apps: start runs, read their state and their journals.

Each call is a few Redis round trips, so every function works from plain sync code
(Django views, scripts) and also from async code: the returned value can be used
directly or awaited (``run_id = await start(...)`` and ``run_id = start(...)`` both
work). The call itself runs synchronously; it never blocks for long.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Generator
from dataclasses import asdict, dataclass, field
from typing import Any

from . import serialization
from ._runtime import runtime
from .errors import RunNotFoundError, WorkflowFailedError
from .registry import WorkflowDef, get_workflow
from .run_behaviour import RUN_ID_PREFIX

TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})


class _Awaitable:
    """Lets a synchronous result also be awaited."""

    def __await__(self) -> Generator[Any, None, Any]:
        if False:  # pragma: no cover - makes this a generator
            yield
        return self


class RunId(str, _Awaitable):
    """A run id (a ``str``) that can also be awaited."""


class _AwaitableList(list[Any], _Awaitable):
    pass


@dataclass
class RunInfo(_Awaitable):
    run_id: str
    workflow: str
    status: str
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    error: dict[str, Any] | None = None
    created_at: float | None = None
    updated_at: float | None = None
    parent_run_id: str | None = None
    waiting_on: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["args"] = serialization.encode(self.args)
        data["kwargs"] = serialization.encode(self.kwargs)
        data["result"] = serialization.encode(self.result)
        return data


def _workflow_def(workflow_or_name: Any) -> WorkflowDef:
    if isinstance(workflow_or_name, str):
        return get_workflow(workflow_or_name)
    defn = getattr(workflow_or_name, "__pyworkflow_workflow__", None)
    if defn is None:
        raise TypeError(f"{workflow_or_name!r} is not a workflow: decorate it with @workflow")
    return defn  # type: ignore[no-any-return]


def _bind(defn: WorkflowDef, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    try:
        defn.signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"{exc} for {defn.name}{defn.signature}") from None


def start(workflow_or_name: Any, *args: Any, idempotency_key: str | None = None,
          **kwargs: Any) -> RunId:
    """Start a run and return its id. Arguments are checked against the workflow's
    signature and must be JSON-serialisable (see ``serialization``); nothing is
    written when they are not."""
    defn = _workflow_def(workflow_or_name)
    _bind(defn, args, kwargs)
    names = [p.name for p in defn.signature.parameters.values()]
    enc_args, enc_kwargs = serialization.check_arguments(args, kwargs, names)
    rt = runtime()
    run_id = f"{RUN_ID_PREFIX}{uuid.uuid4().hex[:20]}"
    if idempotency_key is not None:
        key = f"{rt.settings.key_prefix}:{{idempotency}}:{idempotency_key}"
        if not rt.redis.set(key, run_id, nx=True):
            existing = rt.redis.get(key)
            if existing is not None:
                return RunId(existing.decode())
    now = time.time()
    record = {"run_id": run_id, "workflow": defn.name, "status": "pending",
              "args": json.dumps(enc_args), "kwargs": json.dumps(enc_kwargs),
              "created_at": repr(now), "updated_at": repr(now)}
    keys = rt.system.actor_keys(run_id)
    pipe = rt.redis.pipeline(transaction=False)
    pipe.hset(keys.record, mapping=record)
    pipe.zadd(_runs_index(), {run_id: now})
    pipe.execute()
    rt.system.send(run_id, "start", {"workflow": defn.name, "args": enc_args,
                                     "kwargs": enc_kwargs}, msg_id=f"{run_id}:start")
    return RunId(run_id)


def _runs_index() -> str:
    return f"{runtime().settings.key_prefix}:{{index}}:runs"


def _loads(raw: bytes | None, default: Any = None) -> Any:
    return default if raw is None else serialization.loads(raw)


def _info(run_id: str, rec: dict[bytes, bytes]) -> RunInfo:
    def f(name: str) -> bytes | None:
        return rec.get(name.encode())

    def ts(name: str) -> float | None:
        raw = f(name)
        return float(raw) if raw else None

    parent = f("parent_run_id")
    return RunInfo(
        run_id=run_id, workflow=(f("workflow") or b"?").decode(),
        status=(f("status") or b"pending").decode(),
        args=_loads(f("args"), []), kwargs=_loads(f("kwargs"), {}),
        result=_loads(f("result")), error=json.loads(f("error") or b"null"),
        created_at=ts("created_at"), updated_at=ts("updated_at"),
        parent_run_id=parent.decode() if parent else None,
        waiting_on=json.loads(f("waiting_on") or b"[]"))


def get_workflow_run(run_id: str) -> RunInfo:
    rt = runtime()
    rec = rt.redis.hgetall(rt.system.actor_keys(run_id).record)
    if not rec:
        raise RunNotFoundError(run_id)
    return _info(run_id, rec)


def get_workflow_events(run_id: str, after_seq: int = 0) -> list[dict[str, Any]]:
    rt = runtime()
    if after_seq == 0 and not rt.redis.exists(rt.system.actor_keys(run_id).record):
        raise RunNotFoundError(run_id)
    events = rt.system.journal(run_id).read(after_seq)
    return _AwaitableList({"seq": e.seq, "type": e.type, "timestamp": e.ts, "data": e.data}
                          for e in events)


def list_workflow_runs(status: str | None = None, workflow: str | None = None,
                       limit: int = 50) -> list[RunInfo]:
    """Newest first, filtered by status and workflow name."""
    rt = runtime()
    out: list[RunInfo] = _AwaitableList()
    offset, page = 0, max(limit, 100)
    while len(out) < limit:
        ids = rt.redis.zrevrange(_runs_index(), offset, offset + page - 1)
        if not ids:
            break
        offset += page
        pipe = rt.redis.pipeline(transaction=False)
        for raw in ids:
            pipe.hgetall(rt.system.actor_keys(raw.decode()).record)
        for raw, rec in zip(ids, pipe.execute(), strict=True):
            if not rec:
                continue
            info = _info(raw.decode(), rec)
            if (status is None or info.status == status) and \
                    (workflow is None or info.workflow == workflow):
                out.append(info)
                if len(out) >= limit:
                    break
    return out


def cancel_workflow(run_id: str, reason: str | None = None, wait: bool = False,
                    timeout: float | None = None) -> RunInfo:
    """Ask a run to cancel: a message to its actor, then an event in its journal.

    The workflow is woken at its next checkpoint (a sleep or hook wait is interrupted
    at once) and its cleanup runs. A finished run is left unchanged: the returned
    info shows its final status. With ``wait`` this returns once the run is terminal.
    """
    info = get_workflow_run(run_id)
    if info.finished:
        return info
    runtime().system.send(run_id, "cancel", {"reason": reason, "force": True})
    if wait:
        return wait_for_run(run_id, timeout)
    return get_workflow_run(run_id)


def retry_run(run_id: str) -> RunInfo:
    """An operator's retry, after fixing what stopped the run.

    A ``parked`` run resumes where it stopped, replayed with the code the workers
    run now (a step parked as poison gets a new attempt). A ``failed`` run re-opens
    from its failed step, which gets a new attempt; the failure stays in the journal,
    marked superseded. Other statuses are left unchanged (returned as they are).
    """
    info = get_workflow_run(run_id)
    if info.status not in ("parked", "failed"):
        return info
    runtime().system.send(run_id, "retry", {})
    return info


def wait_for_run(run_id: str, timeout: float | None = None, poll: float = 0.1) -> RunInfo:
    """Block until the run is finished (or parked); returns its final state."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        info = get_workflow_run(run_id)
        if info.finished or info.status == "parked":
            return info
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} is still {info.status} after {timeout}s")
        time.sleep(poll)


def get_result(run_id: str, timeout: float | None = None) -> Any:
    """The run's result; raises ``WorkflowFailedError`` if it did not complete."""
    info = wait_for_run(run_id, timeout)
    if info.status != "completed":
        err = info.error or {}
        raise WorkflowFailedError(run_id, err.get("type", info.status), err.get("message", ""))
    return info.result


