"""The pure halves of send_signal / get_value and of a step's cancel check (no Redis)."""

from __future__ import annotations

import json
import time

import pytest

from pyworkflow import serialization
from pyworkflow.client.run_queries import check_signal_target, signal_message, value_in_record
from pyworkflow.errors import CancellationError, RunFinishedError, ValueNotSetError
from pyworkflow.run_info import RunInfo
from pyworkflow.step_context import CANCEL_CHECK_EVERY_S, CancelWatch, StepContext


def test_a_signal_message_carries_its_id_as_the_message_id() -> None:
    msg_id, message = signal_message("approve", {"by": "ana"}, None)
    assert msg_id.startswith("signal:") and message["signal_id"] == msg_id
    assert message == {"name": "approve", "payload": {"by": "ana"}, "signal_id": msg_id}
    assert signal_message("approve", None, "signal:mine")[0] == "signal:mine"


@pytest.mark.parametrize("name", ["", None, 3])
def test_a_signal_name_must_be_a_non_empty_string(name: object) -> None:
    with pytest.raises(TypeError, match="non-empty string"):
        signal_message(name, 1, None)  # type: ignore[arg-type]


def test_a_payload_that_json_cannot_carry_or_too_big_is_refused() -> None:
    with pytest.raises(serialization.SerializationError):
        signal_message("s", object(), None)
    with pytest.raises(serialization.PayloadError):
        signal_message("s", "x" * (serialization.MAX_BYTES + 1), None)


def test_only_a_finished_run_refuses_signals() -> None:
    for status in ("pending", "running", "suspended", "parked"):
        check_signal_target(RunInfo("run-1", "w", status))
    with pytest.raises(RunFinishedError, match="already cancelled"):
        check_signal_target(RunInfo("run-1", "w", "cancelled"))


def _record(status: str, values: dict[str, object] | None = None) -> dict[bytes, bytes]:
    rec = {b"workflow": b"w", b"status": status.encode()}
    if values is not None:
        encoded = {k: serialization.encode(v) for k, v in values.items()}
        rec[b"values"] = json.dumps(encoded).encode()
    return rec


def test_value_in_record_finds_waits_or_refuses() -> None:
    rec = _record("suspended", {"progress": {"done": 1}})
    assert value_in_record("run-1", "progress", rec, waiting=False) == (True, {"done": 1})
    assert value_in_record("run-1", "final", rec, waiting=True) == (False, None)
    with pytest.raises(ValueNotSetError, match="'final'"):
        value_in_record("run-1", "final", rec, waiting=False)
    with pytest.raises(ValueNotSetError, match="completed"):
        value_in_record("run-1", "final", _record("completed"), waiting=True)


def test_a_step_reads_the_cancel_flag_at_most_every_half_second() -> None:
    reads: list[float] = []
    flag = [False]

    def probe() -> bool:
        reads.append(time.monotonic())
        return flag[0]

    ctx = StepContext("run-1", 1, "s", 1, CancelWatch(probe))
    for _ in range(1000):
        ctx.check_cancellation()
    assert len(reads) == 1
    flag[0] = True
    deadline = time.monotonic() + 5
    while not ctx.cancel_requested:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert reads[-1] - reads[0] >= CANCEL_CHECK_EVERY_S
    with pytest.raises(CancellationError, match="'s'"):
        ctx.check_cancellation()
    assert not StepContext("run-1", 1, "s", 1).cancel_requested  # no probe: never
