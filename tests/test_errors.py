"""Unit tests for the public exception types (no Redis needed)."""

from __future__ import annotations

import copy
import datetime as dt
import pickle
from typing import Any

import pytest

from pyworkflow import errors
from pyworkflow.errors import (
    CancellationError,
    ChildWorkflowFailedError,
    FatalError,
    HookAlreadyReceivedError,
    HookExpiredError,
    HookNotFoundError,
    MaxNestingDepthError,
    NonDeterminismError,
    PyWorkflowError,
    RecordedError,
    RetryableError,
    RunNotFoundError,
    StepFailedError,
    StepTimeoutError,
    WorkflowFailedError,
    WorkflowNotFoundError,
    error_from_record,
)

NOW = 1_700_000_000_000

SAMPLES: list[PyWorkflowError] = [
    PyWorkflowError("base"),
    RetryableError("busy", retry_after="5s"),
    FatalError("card declined"),
    StepTimeoutError("too slow"),
    StepFailedError("charge", "ValueError", "bad card", "Traceback ...", 3),
    WorkflowFailedError("run-1", "KeyError", "'x'"),
    NonDeterminismError(3, "step 'charge'", "sleep(30.0s)"),
    CancellationError("user asked"),
    WorkflowNotFoundError("orders", ["b", "a"]),
    RunNotFoundError("run-9"),
    HookExpiredError("tok"), HookNotFoundError("tok"), HookAlreadyReceivedError("tok"),
    ChildWorkflowFailedError("run-2", "ship", "FatalError", "no address"),
    MaxNestingDepthError(11, 10),
    RecordedError("ValueError", "nope"),
]


def test_hierarchy() -> None:
    for exc in SAMPLES:
        assert isinstance(exc, PyWorkflowError) and isinstance(exc, Exception)
    assert issubclass(StepTimeoutError, RetryableError)
    assert not issubclass(FatalError, RetryableError)
    assert issubclass(WorkflowNotFoundError, LookupError)
    assert issubclass(RunNotFoundError, LookupError)
    for cls in (HookExpiredError, HookNotFoundError, HookAlreadyReceivedError):
        assert issubclass(cls, PyWorkflowError)


@pytest.mark.parametrize(("retry_after", "expected"), [
    (None, None), ("5s", NOW + 5000), (2, NOW + 2000), (0.0015, NOW + 2),
    (dt.timedelta(minutes=1), NOW + 60_000),
    (dt.datetime(2030, 1, 1, tzinfo=dt.UTC), 1_893_456_000_000),
    (dt.datetime(2030, 1, 1), 1_893_456_000_000),  # naive = UTC
    (dt.datetime(2000, 1, 1, tzinfo=dt.UTC), NOW),  # in the past: due now
])
def test_retry_after_ms(retry_after: Any, expected: int | None) -> None:
    exc = RetryableError("busy", retry_after=retry_after)
    assert exc.retry_after is retry_after  # stored raw
    assert exc.retry_after_ms(NOW) == expected
    assert str(exc) == "busy"


def test_retry_after_is_validated_when_raised() -> None:
    with pytest.raises(ValueError, match="accepted forms"):
        RetryableError("busy", retry_after="soonish")
    with pytest.raises(ValueError, match="negative"):
        RetryableError("busy", retry_after=-1)
    assert StepTimeoutError("slow", retry_after="1m").retry_after_ms(0) == 60_000
    assert StepTimeoutError("slow").retry_after_ms(0) is None


def test_step_failed_error() -> None:
    exc = StepFailedError("charge", "ValueError", "bad card", "Traceback ...", 3)
    assert str(exc) == "step 'charge' failed after 3 attempts: ValueError: bad card"
    assert (exc.step_name, exc.error_type, exc.error_message, exc.traceback, exc.attempts) == (
        "charge", "ValueError", "bad card", "Traceback ...", 3)
    one = StepFailedError("ship", "OSError", "down")
    assert one.traceback is None and one.attempts == 1
    assert str(one) == "step 'ship' failed after 1 attempt: OSError: down"


def test_workflow_and_child_failures() -> None:
    exc = WorkflowFailedError("run-1", "KeyError", "'x'")
    assert str(exc) == "run run-1 failed: KeyError: 'x'"
    assert (exc.run_id, exc.error_type, exc.error_message) == ("run-1", "KeyError", "'x'")
    child = ChildWorkflowFailedError("run-2", "ship", "FatalError", "no address")
    assert str(child) == "child workflow 'ship' (run run-2) failed: FatalError: no address"
    assert (child.child_run_id, child.workflow_name, child.error_type, child.error_message) == (
        "run-2", "ship", "FatalError", "no address")


def test_non_determinism_message() -> None:
    exc = NonDeterminismError(3, "step 'charge'", "sleep(30.0s)")
    assert str(exc) == ("non-determinism at command #3: the journal recorded step 'charge' "
                        "but the code now issues sleep(30.0s)")
    assert (exc.position, exc.recorded, exc.issued) == (3, "step 'charge'", "sleep(30.0s)")


def test_cancellation() -> None:
    assert CancellationError().reason is None
    assert str(CancellationError()) == "run cancelled"
    assert str(CancellationError("user asked")) == "run cancelled: user asked"
    assert CancellationError("user asked").reason == "user asked"


def test_not_found_messages() -> None:
    exc = WorkflowNotFoundError("orders", ["shipping", "billing"])
    assert str(exc) == ("no workflow named 'orders' is registered; "
                        "known workflows: billing, shipping")
    assert exc.name == "orders" and exc.known == ("billing", "shipping")
    assert str(WorkflowNotFoundError("x")) == "no workflow named 'x' is registered"
    assert str(WorkflowNotFoundError("x", [])).endswith("known workflows: none")
    assert str(RunNotFoundError("run-9")) == "no run with id 'run-9'"
    assert RunNotFoundError("run-9").run_id == "run-9"
    with pytest.raises(LookupError):
        raise RunNotFoundError("r")


def test_hook_errors_and_nesting() -> None:
    assert str(HookExpiredError("tok")) == "hook 'tok': expired before a payload was received"
    assert str(HookNotFoundError("tok")) == "hook 'tok': no such hook is waiting"
    assert str(HookAlreadyReceivedError("t")) == "hook 't': already received a payload"
    assert HookExpiredError("tok").token == "tok"
    exc = MaxNestingDepthError(11, 10)
    assert (exc.depth, exc.max_depth) == (11, 10)
    assert "depth 11 exceeds the maximum of 10" in str(exc)


@pytest.mark.parametrize("exc", SAMPLES, ids=lambda e: type(e).__name__)
def test_pickle_and_copy_keep_attributes(exc: PyWorkflowError) -> None:
    for clone in (pickle.loads(pickle.dumps(exc)), copy.copy(exc), copy.deepcopy(exc)):
        assert type(clone) is type(exc)
        assert str(clone) == str(exc) and clone.args == exc.args
        assert vars(clone) == vars(exc)


@pytest.mark.parametrize("exc", SAMPLES, ids=lambda e: type(e).__name__)
def test_error_from_record_rebuilds_our_classes(exc: PyWorkflowError) -> None:
    name = type(exc).__name__
    for error_type in (name, f"pyworkflow.errors.{name}", f"pyworkflow.errors:{name}"):
        rebuilt = error_from_record(error_type, str(exc))
        assert type(rebuilt) is type(exc)
        assert str(rebuilt) == str(exc)


def test_error_from_record_defaults_structured_attributes() -> None:
    rebuilt = error_from_record("StepFailedError", "step 'x' failed")
    assert isinstance(rebuilt, StepFailedError)
    assert rebuilt.step_name == "" and rebuilt.traceback is None and rebuilt.attempts == 0
    retry = error_from_record("RetryableError", "busy")
    assert isinstance(retry, RetryableError) and retry.retry_after_ms(NOW) is None
    with pytest.raises(FatalError, match="^card declined$"):
        raise error_from_record("FatalError", "card declined")


@pytest.mark.parametrize("error_type", [
    "ValueError", "builtins.ValueError", "os.system", "myapp.errors:PaymentError",
    "errors.FatalError", "pyworkflow.other.FatalError", "_HookError", "__class__", "",
])
def test_error_from_record_never_imports_other_types(error_type: str) -> None:
    rebuilt = error_from_record(error_type, "boom")
    assert type(rebuilt) is RecordedError
    assert isinstance(rebuilt, RecordedError)
    assert rebuilt.error_type == error_type and rebuilt.error_message == "boom"
    assert str(rebuilt) == f"{error_type}: boom"


def test_every_public_class_is_recognised_by_name() -> None:
    public = {name for name, obj in vars(errors).items()
              if isinstance(obj, type) and issubclass(obj, PyWorkflowError)
              and not name.startswith("_")}
    for name in public:
        assert type(error_from_record(name, "m")).__name__ == name
