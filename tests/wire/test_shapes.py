"""The wire's promises: one shape per message, checked on the way in, and a failure's
meaning decided where it was raised (no Redis: the engine and the shapes alone)."""

from __future__ import annotations

from typing import Any

import pytest

from actors import MessageRejected
from actors.message import Message
from pyworkflow import FatalError, StepFailedError, sleep, step, wire, workflow
from pyworkflow.step_attempt import Attempt
from pyworkflow.step_context import StepContext
from pyworkflow.testing import WorkflowEnvironment
from tests.engine.harness import Harness


class CardDeclined(FatalError):
    """An app's own fatal error: never retried, like FatalError itself."""


def _fail(exc: Exception) -> wire.StepOutcome:
    with Attempt(StepContext("run-w", 1, "charge", 1), lambda: 1_000) as frame:
        raise exc
    return frame.outcome


def test_a_subclass_of_fatal_error_is_fatal_where_it_is_raised() -> None:
    outcome = _fail(CardDeclined("card declined"))
    assert outcome.ok is False and outcome.fatal is True
    assert outcome.error_type == "CardDeclined"
    assert outcome.error_class == f"{__name__}.CardDeclined"
    assert _fail(ValueError("x")).fatal is False


def test_an_outcome_survives_its_encoding() -> None:
    outcome = _fail(CardDeclined("no"))
    assert wire.decode(wire.StepOutcome, wire.encode(outcome)) == outcome


@pytest.mark.parametrize("payload, field", [
    ({"attempt": 1, "ok": True}, "call_id"),
    ({"call_id": "one", "attempt": 1, "ok": True}, "call_id"),
    ({"call_id": 1, "attempt": 1, "ok": "maybe"}, "ok"),
])
def test_a_payload_that_does_not_fit_is_refused_naming_the_field(payload: dict[str, Any],
                                                                  field: str) -> None:
    with pytest.raises(wire.WireError, match=field):
        wire.decode(wire.StepOutcome, payload)


def test_a_failure_from_the_previous_release_keeps_its_meaning() -> None:
    """The previous release sent no ``fatal`` flag: FatalError itself was fatal."""
    old = {"call_id": 1, "attempt": 1, "ok": False, "error_type": "FatalError", "error": "x",
           "traceback": None}
    assert wire.decode(wire.StepOutcome, old).fatal is True
    assert wire.decode(wire.StepOutcome, {**old, "error_type": "ValueError"}).fatal is False


def test_a_message_that_does_not_fit_is_rejected_not_a_crashed_turn() -> None:
    h = Harness("run-bad")
    with pytest.raises(MessageRejected, match="StartRun"):
        h.send("start", args=[], kwargs={})  # no workflow name
    with pytest.raises(MessageRejected, match="does not accept"):
        h.send("signal-x")  # an unknown kind
    assert h.journal == []


@step(max_retries=3, retry_delay=0)
def wire_decline() -> None:
    raise CardDeclined("card declined")


@workflow()
async def wire_pay() -> dict[str, Any]:
    try:
        await wire_decline()
    except StepFailedError as exc:
        return {"type": exc.error_type, "cause": exc.cause_type, "fatal": exc.fatal,
                "attempts": exc.attempts}
    return {}


def test_a_declined_card_is_charged_once() -> None:
    with WorkflowEnvironment() as env:
        run = env.start(wire_pay)
        assert run.result() == {"type": "CardDeclined", "cause": f"{__name__}.CardDeclined",
                                "fatal": True, "attempts": 1}
        tries = [e for e in run.events() if e["type"] == "step_scheduled"]
        assert len(tries) == 1


@workflow()
async def wire_nap() -> None:
    await sleep("1h")


def test_the_environment_dead_letters_a_forged_message() -> None:
    with WorkflowEnvironment() as env:
        run = env.start(wire_nap)
        env._deliver(Message("step-completed", run.run_id, {"call_id": "x"}))
        env._drain()
        assert env.dead_letters and "StepOutcome" in env.dead_letters[-1][1]
