"""The runtimes every conformance case runs on, behind one small interface.

A runtime is a name, whether it keeps a journal, and ``open()``: a
:class:`Session` for one case (a fresh in-process environment, or the shared
workers). A session starts a run, does to it what a case's script says (send a
signal, resume a hook, cancel it, wait for an event), and settles it; the test
turns what it left behind into an ``Outcome`` (see ``test_conformance.py``).
Adding a runtime is one more entry in :data:`RUNTIMES`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import pyworkflow
from pyworkflow import RunInfo
from pyworkflow._start_plan import plan_start
from pyworkflow.local.environment import RunHandle
from pyworkflow.local.runtime import LocalRuntime
from pyworkflow.local.transient import run_transient
from pyworkflow.run_info import values_from_record
from pyworkflow.testing import WorkflowEnvironment
from pyworkflow.worker._runtime import runtime
from tests._workers import wait_for
from tests.conformance import workflows

#: How long the celery runtime waits for anything (a run to end, an event to appear).
CELERY_WAIT_S = 30.0


class NotApplicable(Exception):
    """A case asked a runtime for something it does not have (the case should say so)."""


class Session(Protocol):
    """What a case may do to its run on one runtime."""

    def start(self, workflow: str, args: tuple[Any, ...], *, hold: bool = False,
              idempotency_key: str | None = None) -> str:
        """Start a run; with ``hold`` an in-process runtime runs nothing yet (so the
        next action lands while the run's first step is dispatched, not done)."""
        ...

    def wait_event(self, run_id: str, event_type: str) -> None: ...
    def wait_attempt(self, tag: str, step: str) -> None: ...
    def pending_hook(self, run_id: str) -> str: ...
    def hook_status(self, token: str) -> str: ...
    def resume_hook(self, token: str, payload: Any) -> None: ...
    def send_signal(self, run_id: str, name: str, payload: Any) -> None: ...
    def cancel(self, run_id: str, tag: str) -> None: ...
    def settle(self, run_id: str, follow: bool = False) -> RunInfo: ...
    def result_error(self, run_id: str) -> str | None:
        """The class name of what the runtime's own ``get_result`` raises (None: none)."""
    def events(self, run_id: str) -> list[dict[str, Any]] | None: ...
    def values(self, run_id: str) -> dict[str, Any] | None: ...
    def chain(self, run_id: str) -> list[str] | None: ...
    def dead_letters(self, run_id: str) -> list[str]: ...
    def close(self) -> None: ...


@dataclasses.dataclass(frozen=True)
class Runtime:
    name: str
    journaled: bool
    open: Callable[[], Session]
    #: a fixture the runtime needs (the celery workers), asked for only when it runs
    fixture: str | None = None


def _child_ids(events: list[dict[str, Any]]) -> list[str]:
    return [e["data"]["child_run_id"] for e in events if e["type"] == "child_started"]


class CelerySession:
    """Real ``pyworkflow worker run`` processes, driven through the public client."""

    def start(self, workflow: str, args: tuple[Any, ...], *, hold: bool = False,
              idempotency_key: str | None = None) -> str:
        return str(pyworkflow.start(workflow, *args, idempotency_key=idempotency_key))

    def wait_event(self, run_id: str, event_type: str) -> None:
        def seen() -> bool:
            try:
                return any(e["type"] == event_type for e in self.events(run_id) or [])
            except pyworkflow.RunNotFoundError:
                return False  # a child whose record its first turn has not written yet

        wait_for(seen, CELERY_WAIT_S, 0.02, f"{event_type} in run {run_id}")

    def wait_attempt(self, tag: str, step: str) -> None:
        client = pyworkflow.redis_connection()
        wait_for(lambda: client.exists(workflows.attempts_key(tag, step)), CELERY_WAIT_S,
                 0.02, f"an attempt of {step} ({tag})")

    def pending_hook(self, run_id: str) -> str:
        hooks = wait_for(lambda: pyworkflow.list_hooks(status="pending", run_id=run_id),
                         CELERY_WAIT_S, 0.02, f"a pending hook of run {run_id}")
        return str(hooks[0].token)

    def hook_status(self, token: str) -> str:
        return str(pyworkflow.get_hook(token).status)

    def resume_hook(self, token: str, payload: Any) -> None:
        pyworkflow.resume_hook(token, payload)

    def send_signal(self, run_id: str, name: str, payload: Any) -> None:
        pyworkflow.send_signal(run_id, name, payload)

    def cancel(self, run_id: str, tag: str) -> None:
        pyworkflow.cancel_workflow(run_id)

    def settle(self, run_id: str, follow: bool = False) -> RunInfo:
        return pyworkflow.wait_for_run(run_id, timeout=CELERY_WAIT_S, follow=follow)

    def result_error(self, run_id: str) -> str | None:
        try:
            pyworkflow.get_result(run_id, timeout=CELERY_WAIT_S)
        except Exception as exc:
            return type(exc).__name__
        return None

    def events(self, run_id: str) -> list[dict[str, Any]] | None:
        return list(pyworkflow.get_workflow_events(run_id))

    def values(self, run_id: str) -> dict[str, Any] | None:
        return dict(pyworkflow.get_values(run_id))

    def chain(self, run_id: str) -> list[str] | None:
        return [info.status for info in pyworkflow.run_chain(run_id)]

    def dead_letters(self, run_id: str) -> list[str]:
        letters = runtime().system.dead_letters.list(limit=1000, actor_id=run_id)
        return [str(letter["reason"]) for letter in letters]

    def close(self) -> None:
        pass


class EnvSession:
    """An in-process environment: ``WorkflowEnvironment`` (virtual clock) or its
    wall-clock twin ``LocalRuntime``. Each action drains the environment, so by the
    time an action returns, everything that could happen without time passing has."""

    def __init__(self, env: WorkflowEnvironment) -> None:
        self.env = env

    def start(self, workflow: str, args: tuple[Any, ...], *, hold: bool = False,
              idempotency_key: str | None = None) -> str:
        if not hold:
            return self.env.start(workflow, *args, idempotency_key=idempotency_key).run_id
        if idempotency_key is not None:
            raise NotApplicable("a held start takes no idempotency key here")
        if isinstance(self.env, LocalRuntime):
            return self.env.begin(workflow, *args).run_id
        # WorkflowEnvironment has no public begin(); this is what LocalRuntime.begin does.
        return self.env._start_planned(plan_start(workflow, args, {})).run_id

    def wait_event(self, run_id: str, event_type: str) -> None:
        types = [e["type"] for e in self.env.events(run_id)]
        assert event_type in types, f"no {event_type} in run {run_id} yet: {types}"

    def wait_attempt(self, tag: str, step: str) -> None:
        """Nothing runs beside this thread: a held run's step is dispatched, not run."""

    def pending_hook(self, run_id: str) -> str:
        hooks = self.env.hooks(run_id)
        assert hooks, f"run {run_id} has no pending hook"
        return hooks[0].token

    def hook_status(self, token: str) -> str:
        (found,) = [h for h in self.env.hooks(None, status=None) if h.token == token]
        return found.status

    def resume_hook(self, token: str, payload: Any) -> None:
        self.env.resume_hook(token, payload)

    def send_signal(self, run_id: str, name: str, payload: Any) -> None:
        self.env.send_signal(run_id, name, payload)

    def cancel(self, run_id: str, tag: str) -> None:
        # In-process steps have no cancel probe; a step waiting for the cancel reads this.
        pyworkflow.redis_connection().set(workflows.cancel_flag_key(tag), 1, ex=600)
        self.env.cancel(run_id)

    def settle(self, run_id: str, follow: bool = False) -> RunInfo:
        return self.env.wait(run_id, follow=follow)

    def result_error(self, run_id: str) -> str | None:
        try:
            RunHandle(self.env, run_id).result()
        except Exception as exc:
            return type(exc).__name__
        return None

    def events(self, run_id: str) -> list[dict[str, Any]] | None:
        return self.env.events(run_id)

    def values(self, run_id: str) -> dict[str, Any] | None:
        record = self.env.records[run_id]
        return values_from_record({k.encode(): v.encode() for k, v in record.items()})

    def chain(self, run_id: str) -> list[str] | None:
        statuses = []
        current: str | None = run_id
        while current is not None:
            info = self.env.get_run(current)
            statuses.append(info.status)
            current = info.continued_to
        return statuses

    def dead_letters(self, run_id: str) -> list[str]:
        return [reason for message, reason in self.env.dead_letters
                if message.actor_id == run_id]

    def close(self) -> None:
        self.env.close()


class TransientSession:
    """``run_transient``: the workflow is called in this process and runs to its end
    in ``start``; there is no run to act on, only its result or its error."""

    def __init__(self) -> None:
        self._ended: dict[str, RunInfo] = {}

    def start(self, workflow: str, args: tuple[Any, ...], *, hold: bool = False,
              idempotency_key: str | None = None) -> str:
        if idempotency_key is not None:
            raise NotApplicable("a transient run takes no idempotency key")
        run_id = f"transient-{len(self._ended) + 1}"
        try:
            result = run_transient(workflow, *args)
        except Exception as exc:
            info = RunInfo(run_id, workflow, "failed",
                           error={"type": type(exc).__name__, "message": str(exc)})
        else:
            info = RunInfo(run_id, workflow, "completed", result=result)
        self._ended[run_id] = info
        return run_id

    def _none(self, what: str) -> NotApplicable:
        return NotApplicable(f"a transient run has no {what}: mark the case not applicable")

    def wait_event(self, run_id: str, event_type: str) -> None:
        raise self._none("journal")

    def wait_attempt(self, tag: str, step: str) -> None:
        raise self._none("concurrent actions")

    def pending_hook(self, run_id: str) -> str:
        raise self._none("hooks")

    def hook_status(self, token: str) -> str:
        raise self._none("hooks")

    def resume_hook(self, token: str, payload: Any) -> None:
        raise self._none("hooks")

    def send_signal(self, run_id: str, name: str, payload: Any) -> None:
        raise self._none("signals")

    def cancel(self, run_id: str, tag: str) -> None:
        raise self._none("cancel")

    def settle(self, run_id: str, follow: bool = False) -> RunInfo:
        return self._ended[run_id]

    def result_error(self, run_id: str) -> str | None:
        raise self._none("get_result (the call itself raised)")

    def events(self, run_id: str) -> list[dict[str, Any]] | None:
        return None

    def values(self, run_id: str) -> dict[str, Any] | None:
        return None

    def chain(self, run_id: str) -> list[str] | None:
        return None

    def dead_letters(self, run_id: str) -> list[str]:
        raise self._none("messages")

    def close(self) -> None:
        pass


RUNTIMES: list[Runtime] = [
    Runtime("celery", journaled=True, open=CelerySession, fixture="conformance_workers"),
    Runtime("local", journaled=True, open=lambda: EnvSession(LocalRuntime())),
    Runtime("testing", journaled=True, open=lambda: EnvSession(WorkflowEnvironment())),
    Runtime("transient", journaled=False, open=TransientSession),
]


# -- what every runtime records the same way (Redis, under the session's prefix) -------------


def attempts(tag: str) -> dict[str, int]:
    """Attempts per step of the case run ``tag`` (as its steps counted them)."""
    client = pyworkflow.redis_connection()
    prefix = workflows.attempts_key(tag, "")
    counts = {}
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        name = key.decode()[len(prefix):]
        counts[name] = int(client.get(key))
    return counts


def attempt_gaps(tag: str) -> dict[str, list[float]]:
    """Seconds between the starts of consecutive attempts of each step (wall clock)."""
    client = pyworkflow.redis_connection()
    gaps = {}
    for name in attempts(tag):
        times = [float(t) for t in client.lrange(workflows.times_key(tag, name), 0, -1)]
        gaps[name] = [b - a for a, b in zip(times, times[1:], strict=False)]
    return gaps


def journal_waits(events: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Seconds each step waited between a failed attempt and its retry, by the journal's
    clock (the virtual one, in the testing runtime)."""
    failed_at: dict[int, float] = {}
    waits: dict[str, list[float]] = {}
    for e in events:
        data = e["data"]
        if e["type"] == "step_failed":
            failed_at[data["call_id"]] = e["timestamp"]
        elif e["type"] == "step_retrying" and data["call_id"] in failed_at:
            waits.setdefault(data["step"], []).append(
                e["timestamp"] - failed_at.pop(data["call_id"]))
    return waits


@contextlib.contextmanager
def opened(runtime: Runtime) -> Iterator[Session]:
    session = runtime.open()
    try:
        yield session
    finally:
        session.close()

