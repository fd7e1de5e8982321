"""The public exception types of pyworkflow.

Two families matter to users. Errors raised *by step code* steer retries:
:class:`RetryableError` (retry, optionally after a delay) and :class:`FatalError`
(never retry); any other exception is retried by the step's policy. Errors raised
*into workflow code* report what the journal recorded: :class:`StepFailedError`,
:class:`ChildWorkflowFailedError`, :class:`CancellationError`, and so on.

Recorded errors travel as ``(error_type, message)`` JSON, never as pickled
objects, so :func:`error_from_record` rebuilds them by name from this module's
own table and imports nothing. Every class pickles and copies with its
attributes (see :meth:`PyWorkflowError.__reduce__`), should a library need to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from pyworkflow.durations import DurationLike, deadline_ms, parse_duration


def _restore(cls: type[PyWorkflowError], args: tuple[Any, ...],
             state: dict[str, Any]) -> PyWorkflowError:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class PyWorkflowError(Exception):
    """Base class of every pyworkflow error, so apps can catch them all at once."""

    def __reduce__(self) -> tuple[Any, ...]:
        # The default re-calls ``cls(*args)``, which fails for our keyword-rich
        # constructors; rebuild from args and attributes instead.
        return (_restore, (type(self), self.args, dict(self.__dict__)))


class RetryableError(PyWorkflowError):
    """Raise from a step to ask for another attempt, optionally not before a time.

    ``retry_after`` may be a duration (``"5s"``, seconds, a ``timedelta``) or a
    ``datetime`` (a naive one is UTC). It is validated now, so a typo fails in the
    step that wrote it, and kept raw: durations are measured from when the
    failure is handled (:meth:`retry_after_ms`), not from when it was raised.
    """

    retry_after: DurationLike | dt.datetime | None = None

    def __init__(self, message: str,
                 retry_after: DurationLike | dt.datetime | None = None) -> None:
        super().__init__(message)
        if retry_after is not None and not isinstance(retry_after, dt.datetime):
            parse_duration(retry_after)
        self.retry_after = retry_after

    def retry_after_ms(self, now_ms: int) -> int | None:
        """Epoch ms when the next attempt is due, or None to use the retry policy."""
        return None if self.retry_after is None else deadline_ms(self.retry_after, now_ms)


class FatalError(PyWorkflowError):
    """Raise from a step to fail it at once: no retry policy applies."""


class StepTimeoutError(RetryableError):
    """A step attempt ran past its timeout; retried like any retryable error."""


class StepFailedError(PyWorkflowError):
    """Raised in a workflow where it awaited a step that failed for good.

    What a workflow sees when a step fails is decided in one place
    (:func:`step_error`), the same on every runtime: pyworkflow's own error classes
    raised by the step (``FatalError``, ``RetryableError``, ``StepTimeoutError``,
    ``CancellationError``) come back as themselves; any other class, including an
    app's own subclasses of ``FatalError``, comes back as this error, since rebuilding
    it would mean importing a class named in the journal. It carries what the journal
    recorded about the last attempt: ``cause_type`` (the class's import path,
    ``"billing.errors.CardDeclined"``), ``error_type`` (its short name),
    ``cause_message``, ``fatal`` (a ``FatalError`` subclass: never retried) and
    ``attempts``.
    """

    step_name: str = ""
    error_type: str = ""
    error_message: str = ""
    traceback: str | None = None
    attempts: int = 0
    cause_type: str = ""
    fatal: bool = False

    def __init__(self, step_name: str, error_type: str, error_message: str,
                 traceback: str | None = None, attempts: int = 1,
                 cause_type: str | None = None, fatal: bool = False) -> None:
        plural = "attempt" if attempts == 1 else "attempts"
        super().__init__(f"step {step_name!r} failed after {attempts} {plural}: "
                         f"{error_type}: {error_message}")
        self.step_name, self.error_type, self.error_message = step_name, error_type, error_message
        self.traceback, self.attempts = traceback, attempts
        self.cause_type, self.fatal = cause_type or error_type, fatal

    @property
    def cause_message(self) -> str:
        return self.error_message


class WorkflowFailedError(PyWorkflowError):
    """A run ended failed; raised to a client waiting for its result."""

    run_id: str = ""
    error_type: str = ""
    error_message: str = ""

    def __init__(self, run_id: str, error_type: str, error_message: str) -> None:
        super().__init__(f"run {run_id} failed: {error_type}: {error_message}")
        self.run_id, self.error_type, self.error_message = run_id, error_type, error_message


class WorkflowCancelledError(WorkflowFailedError):
    """A run ended cancelled; raised to a client waiting for its result.

    A subclass of :class:`WorkflowFailedError`, which is what a cancelled run raised
    before this class existed: code that catches that still catches this, and code
    that must tell a cancel from a failure (an operator's choice, not a bug) can."""

    def __init__(self, run_id: str, error_type: str, error_message: str) -> None:
        PyWorkflowError.__init__(self, f"run {run_id} was cancelled: {error_type}: "
                                       f"{error_message}")
        self.run_id, self.error_type, self.error_message = run_id, error_type, error_message


class NonDeterminismError(PyWorkflowError):
    """Replay issued a different command than the journal recorded at ``position``.

    The run is parked, not corrupted: the code changed in a way that does not
    match its history. ``recorded`` and ``issued`` describe the two commands
    (``"step 'charge'"``, ``"sleep(30.0s)"``).
    """

    position: int = 0
    recorded: str = ""
    issued: str = ""

    def __init__(self, position: int, recorded: str, issued: str) -> None:
        super().__init__(f"non-determinism at command #{position}: the journal recorded "
                         f"{recorded} but the code now issues {issued}")
        self.position, self.recorded, self.issued = position, recorded, issued


class CancellationError(PyWorkflowError):
    """Raised at the workflow's next checkpoint after the run was cancelled."""

    reason: str | None = None

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(f"run cancelled: {reason}" if reason else "run cancelled")
        self.reason = reason


class WorkflowNotFoundError(PyWorkflowError, LookupError):
    """No workflow of that name is registered (wrong name, or module not imported)."""

    name: str = ""
    known: tuple[str, ...] | None = None

    def __init__(self, name: str, known: Iterable[str] | None = None) -> None:
        self.name = name
        self.known = tuple(sorted(known)) if known is not None else None
        message = f"no workflow named {name!r} is registered"
        if self.known is not None:
            listed = ", ".join(self.known) if self.known else "none"
            message += f"; known workflows: {listed}"
        super().__init__(message)


class RunNotFoundError(PyWorkflowError, LookupError):
    """No run with that id exists (or its records have expired)."""

    run_id: str = ""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run with id {run_id!r}")
        self.run_id = run_id


class RunFinishedError(PyWorkflowError):
    """A message for a run that has ended (a signal): it was refused, nothing was sent,
    and the run is unchanged. A finished run never takes a message again."""

    run_id: str = ""
    status: str = ""

    def __init__(self, run_id: str, status: str, what: str = "a message") -> None:
        super().__init__(f"run {run_id!r} is already {status}; {what} to a finished run "
                         "is refused (nothing was sent)")
        self.run_id, self.status = run_id, status


class ValueNotSetError(PyWorkflowError, LookupError):
    """``get_value(run_id, key)``: the run has not published ``key`` (yet, or ever)."""

    run_id: str = ""
    key: str = ""

    def __init__(self, run_id: str, key: str, why: str = "") -> None:
        super().__init__(f"run {run_id!r} has not set a value {key!r}{why}")
        self.run_id, self.key = run_id, key


class SignalTimeoutError(PyWorkflowError):
    """``wait_for_signal(name, timeout=...)`` waited that long and no signal came."""

    name: str = ""

    def __init__(self, name: str, timeout_s: float | None = None) -> None:
        after = "" if timeout_s is None else f" within {timeout_s:g}s"
        super().__init__(f"no signal {name!r} arrived{after}")
        self.name = name


class WorkflowTimeoutError(PyWorkflowError):
    """A run outlived its ``@workflow(max_duration=...)`` (or its parent's): it was
    cancelled, its cleanup ran, and it ended failed with this error."""


class IdempotencyKeyUsedError(PyWorkflowError):
    """``start(..., idempotency_key=K, if_finished="refuse")``: K already started a run
    that has ended, and the caller asked not to start another."""

    key: str = ""
    run_id: str = ""
    status: str = ""

    def __init__(self, key: str, run_id: str, status: str) -> None:
        super().__init__(f"idempotency key {key!r} already started run {run_id}, which is "
                         f"{status}; pass if_finished='start_new' to start a new run with it")
        self.key, self.run_id, self.status = key, run_id, status


class _HookError(PyWorkflowError):
    """Shared shape of the hook errors: the hook's token and a fixed explanation."""

    explanation = "hook error"
    token: str = ""

    def __init__(self, token: str) -> None:
        super().__init__(f"hook {token!r}: {self.explanation}")
        self.token = token


class HookExpiredError(_HookError):
    """The hook's timeout passed before a payload arrived."""

    explanation = "expired before a payload was received"


class HookNotFoundError(_HookError):
    """No waiting hook has that token (never created, or its run is gone)."""

    explanation = "no such hook is waiting"


class HookAlreadyReceivedError(_HookError):
    """The hook already took a payload; a hook resumes its run only once."""

    explanation = "already received a payload"


class HookPayloadError(PyWorkflowError, ValueError):
    """A payload that does not fit a typed hook: refused before anything was claimed or
    sent, so the hook stays pending and a corrected payload can be delivered.

    ``name`` is the hook's name and ``errors`` one plain dict per problem (``loc``, the
    path of the field; ``msg``; ``type``), built so that it never repeats the payload's
    values: callers show it as it is (the CLI, a 422 body). Also a ``ValueError``, which
    is what the class was before it joined this module.
    """

    name: str = ""
    errors: list[dict[str, Any]] = []  # the class default: never mutated

    def __init__(self, name: str, errors: list[dict[str, Any]]) -> None:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())) or '(payload)'}: {e.get('msg', '')}"
            for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"payload refused by hook {name!r}: {problems}{more}")
        self.name, self.errors = name, list(errors)


class ChildWorkflowFailedError(PyWorkflowError):
    """Raised in a parent where it awaited a child run that ended failed."""

    child_run_id: str = ""
    workflow_name: str = ""
    error_type: str = ""
    error_message: str = ""

    def __init__(self, child_run_id: str, workflow_name: str, error_type: str,
                 error_message: str) -> None:
        super().__init__(f"child workflow {workflow_name!r} (run {child_run_id}) failed: "
                         f"{error_type}: {error_message}")
        self.child_run_id, self.workflow_name = child_run_id, workflow_name
        self.error_type, self.error_message = error_type, error_message


class MaxNestingDepthError(PyWorkflowError):
    """Starting a child would nest runs deeper than allowed (runaway recursion guard)."""

    depth: int = 0
    max_depth: int = 0

    def __init__(self, depth: int, max_depth: int) -> None:
        super().__init__(f"starting a child workflow at nesting depth {depth} exceeds "
                         f"the maximum of {max_depth}")
        self.depth, self.max_depth = depth, max_depth


class RecordedError(PyWorkflowError):
    """A recorded error of a type that is not one of ours (e.g. a step's ValueError).

    The original class is not imported (that would run arbitrary code from a
    name in the journal); ``error_type`` keeps its name for branching.
    """

    error_type: str = ""
    error_message: str = ""

    def __init__(self, error_type: str, error_message: str) -> None:
        super().__init__(f"{error_type}: {error_message}")
        self.error_type, self.error_message = error_type, error_message


_BY_NAME: dict[str, type[PyWorkflowError]] = {
    cls.__name__: cls
    for cls in (PyWorkflowError, RetryableError, FatalError, StepTimeoutError, StepFailedError,
                WorkflowFailedError, WorkflowCancelledError, NonDeterminismError, CancellationError,
                WorkflowNotFoundError, RunNotFoundError, IdempotencyKeyUsedError,
                SignalTimeoutError, WorkflowTimeoutError, RunFinishedError, ValueNotSetError,
                HookExpiredError, HookNotFoundError,
                HookAlreadyReceivedError, HookPayloadError, ChildWorkflowFailedError,
                MaxNestingDepthError, RecordedError)
}


#: The classes a step's failure hands back to the workflow as themselves.
_STEP_OWN = frozenset({"FatalError", "RetryableError", "StepTimeoutError", "CancellationError"})
_OWN_MODULE = "pyworkflow.errors."


def step_error(step: str, error_type: str, message: str, *, error_class: str | None,
               traceback: str | None, fatal: bool, attempts: int) -> Exception:
    """What the workflow gets when a step failed for good: the one rule, for every
    runtime (see :class:`StepFailedError`). ``error_class`` is the raised class's import
    path (None in failures recorded by the previous release: the short name decides)."""
    if error_class is not None:
        own = error_class.startswith(_OWN_MODULE) and error_class[len(_OWN_MODULE):]
    else:
        own = error_type
    if own and own in _STEP_OWN:
        return error_from_record(own, message)
    return StepFailedError(step, error_type, message, traceback, attempts,
                           cause_type=error_class, fatal=fatal)


def error_from_record(error_type: str, message: str) -> Exception:
    """Rebuild a recorded error so a workflow can re-raise it.

    ``error_type`` is a class name, bare or qualified with this module
    (``"pyworkflow.errors.FatalError"``). Our classes come back as themselves with
    ``str(exc) == message``; their structured attributes stay at the class defaults
    (empty / None), since the record holds only the message. Anything else
    becomes a :class:`RecordedError` keeping the type name; nothing is imported.
    """
    for prefix in ("pyworkflow.errors.", "pyworkflow.errors:"):
        if error_type.startswith(prefix):
            error_type = error_type[len(prefix):]
    cls = _BY_NAME.get(error_type)
    if cls is None:
        return RecordedError(error_type, message)
    exc = cls.__new__(cls)  # bypass __init__: it wants fields the record does not hold
    PyWorkflowError.__init__(exc, message)
    return exc
