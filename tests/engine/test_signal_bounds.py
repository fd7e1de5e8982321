"""Issue 24 in the engine (in memory): a run's signal buffer is bounded, a signal that
cannot be acted upon is refused (dead-lettered by the runtime) rather than dropped or
journaled, and a run parked by its history size is not re-parked by the retry itself."""

from __future__ import annotations

import json
from typing import Any

import pytest

from actors import Message, MessageRejected, Send, TurnContext
from pyworkflow import events as ev
from pyworkflow import sleep, wait_for_signal, workflow
from pyworkflow.engine import memory_ports
from pyworkflow.engine.commands.signal import MAX_BUFFERED_PER_NAME, MAX_BUFFERED_SIGNALS
from pyworkflow.limits import MAX_SIGNAL_ID_CHARS, MAX_SIGNAL_NAME_CHARS
from tests.engine.harness import QUEUES, Harness


@workflow(name="bnd_wait_go")
async def wait_go() -> Any:
    return await wait_for_signal("go")


@workflow(name="bnd_wait_go_twice")
async def wait_go_twice() -> list[Any]:
    return [await wait_for_signal("go"), await wait_for_signal("go")]


@workflow(name="bnd_sleep_then_collect")
async def sleep_then_collect(count: int) -> list[Any]:
    await sleep("1h")
    return [await wait_for_signal("item") for _ in range(count)]


def started(workflow_name: str, *args: Any, **ports: Any) -> Harness:
    h = Harness(f"run-{workflow_name}", memory_ports(queues=QUEUES, **ports))
    h.send("start", workflow=workflow_name, args=list(args), kwargs={})
    return h


def signal(h: Harness, name: str, payload: Any = None, signal_id: str | None = None) -> None:
    h.send("signal", name=name, payload=payload,
           signal_id=signal_id or f"signal:{len(h.journal)}-{name[:20]}")


def refused(h: Harness, kind: str, **payload: Any) -> str:
    """Hand one message to the run as the runtime does, expecting it refused: the batch
    still settles (with nothing else in it), and nothing may be written."""
    ctx = TurnContext(actor_id=h.run_id, turn=1, seq=len(h.journal))
    ctx.current_msg_id = f"refused-{len(h.journal)}"
    with pytest.raises(MessageRejected) as caught:
        h.behaviour.handle(h.state, Message(kind, h.run_id, payload), ctx)
    h.behaviour.settle(h.state, ctx)
    assert ctx.events == [] and ctx.effects == []
    h.record.update(ctx.record)
    return str(caught.value)


def received(h: Harness) -> int:
    return h.types().count(ev.SIGNAL_RECEIVED)


# -- the buffer's bounds ----------------------------------------------------------------------


def test_signals_nobody_waits_for_are_refused_past_the_bound_per_name() -> None:
    h = started("bnd_wait_go")
    for i in range(MAX_BUFFERED_PER_NAME):
        signal(h, "noise", i)
    reason = refused(h, "signal", name="noise", payload="one too many", signal_id="s-x")
    assert f"{MAX_BUFFERED_PER_NAME} signals named 'noise'" in reason
    assert received(h) == MAX_BUFFERED_PER_NAME
    signal(h, "other")  # another name still has room
    signal(h, "go", "yes")  # and one a wait takes at once is never refused
    assert h.record["status"] == "completed" and json.loads(h.record["result"]) == "yes"


def test_the_bound_per_run_counts_every_name_and_survives_a_replay() -> None:
    h = started("bnd_wait_go")
    names = MAX_BUFFERED_SIGNALS // MAX_BUFFERED_PER_NAME
    for n in range(names):
        for i in range(MAX_BUFFERED_PER_NAME):
            signal(h, f"name-{n}", i)
    assert received(h) == MAX_BUFFERED_SIGNALS
    assert "1000 signals already wait" in refused(h, "signal", name="fresh", signal_id="s-1")
    other = h.rebuilt()  # a worker without the run in its cache counts the same
    assert "1000 signals already wait" in refused(other, "signal", name="fresh",
                                                  signal_id="s-2")
    signal(other, "go", 1)  # taken by the wait: let in
    assert other.record["status"] == "completed"


def test_signals_taken_by_waits_make_room_again() -> None:
    h = started("bnd_sleep_then_collect", MAX_BUFFERED_PER_NAME + 1)
    for i in range(MAX_BUFFERED_PER_NAME):
        signal(h, "item", i)
    refused(h, "signal", name="item", signal_id="s-late")
    h.send("timer-fired", purpose="sleep", call_id=1)  # the waits take all 100
    assert h.types().count(ev.SIGNAL_DELIVERED) == MAX_BUFFERED_PER_NAME
    signal(h, "item", "last")
    assert h.record["status"] == "completed"
    assert json.loads(h.record["result"])[-1] == "last"


def test_a_flood_of_signals_never_parks_the_run() -> None:
    limit = MAX_BUFFERED_SIGNALS + 200
    h = started("bnd_wait_go", history_limit_events=limit, history_warn_events=0)
    refusals = 0
    for i in range(limit + 300):
        try:
            signal(h, f"flood-{i % 20}", i)
        except MessageRejected:
            refusals += 1
            h.behaviour.settle(h.state, TurnContext(h.run_id, 1, len(h.journal)))
    assert received(h) == MAX_BUFFERED_SIGNALS and refusals == limit + 300 - received(h)
    assert ev.WORKFLOW_PARKED not in h.types()
    assert h.record["status"] == "suspended"
    signal(h, "go", "still alive")
    assert h.record["status"] == "completed"


# -- names and ids --------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "signal_id", "why"), [
    ("x" * (MAX_SIGNAL_NAME_CHARS + 1), None, "at most 200 characters"),
    ("two\nlines", None, "printable"),
    ("", None, "non-empty string"),
    ("go", "i" * (MAX_SIGNAL_ID_CHARS + 1), "signal id is at most 200"),
    ("go", "tab\there", "printable"),
])
def test_a_signal_name_or_id_out_of_bounds_is_refused(name: str, signal_id: str | None,
                                                      why: str) -> None:
    h = started("bnd_wait_go")
    before = list(h.journal)
    payload: dict[str, Any] = {"name": name, "payload": 1}
    if signal_id is not None:
        payload["signal_id"] = signal_id
    assert why in refused(h, "signal", **payload)
    assert h.journal == before
    signal(h, "x" * MAX_SIGNAL_NAME_CHARS, "the longest name is fine")


# -- a finished run, a run that is not there --------------------------------------------------


def test_a_signal_reaching_a_finished_run_is_refused_late_reports_are_dropped() -> None:
    h = started("bnd_wait_go")
    signal(h, "go", 1)
    assert h.record["status"] == "completed"
    before = list(h.journal)
    assert refused(h, "signal", name="go", payload=2, signal_id="s-late") \
        == "run already completed"
    # The run's own late business is still dropped quietly, not dead-lettered.
    assert h.send("timer-fired", purpose="signal-timeout", call_id=1).events == []
    assert h.send("step-completed", call_id=7, attempt=1, ok=True, result=1).events == []
    assert h.send("start", workflow="bnd_wait_go", args=[], kwargs={}).events == []
    assert h.send("cancel", reason="too late", force=True).events == []
    assert h.journal == before


@pytest.mark.parametrize(("kind", "payload"), [
    ("signal", {"name": "go", "payload": 1, "signal_id": "s-1"}),
    ("timer-fired", {"purpose": "run-timeout"}),
    ("cancel", {"reason": "x", "force": True}),
    ("retry", {}),
    ("step-completed", {"call_id": 1, "attempt": 1, "ok": True, "result": 1}),
])
def test_an_empty_journal_takes_nothing_but_a_start_and_writes_nothing(
        kind: str, payload: dict[str, Any]) -> None:
    h = Harness("run-purged")
    assert refused(h, kind, **payload) == "no such run (purged or never started)"
    assert h.journal == [] and h.record == {}
    h.send("start", workflow="bnd_wait_go", args=[], kwargs={})  # a start still makes it
    assert h.record["status"] == "suspended"


def test_a_batch_of_only_refused_messages_projects_no_record() -> None:
    h = Harness("run-purged")
    ctx = TurnContext(actor_id=h.run_id, turn=1, seq=0)
    h.behaviour.settle(h.state, ctx)  # what the runtime does after the refusals
    assert ctx.record == {} and ctx.events == []


# -- the history limit and runs retry ---------------------------------------------------------


def parked_by_size(workflow_name: str) -> Harness:
    """A run waiting for ``go``, flooded with other signals past its history limit."""
    h = started(workflow_name, history_limit_events=30, history_warn_events=0)
    while h.record["status"] != "parked":
        signal(h, "noise")
    assert h.journal[-1].data["error_type"] == "HistoryLimitError"
    return h


def retried(h: Harness) -> tuple[TurnContext, Harness]:
    """``runs retry``, then its ``wake`` on the run rebuilt from its journal (as the
    runtime does after the retry's commit)."""
    ctx = h.send("retry")
    assert ctx.rebuild and any(isinstance(e, Send) and e.kind == "wake" for e in ctx.effects)
    other = h.rebuilt()
    other.record = dict(h.record)
    return ctx, other


def test_retry_of_a_run_parked_by_size_lets_the_rebuilt_code_finish_it() -> None:
    h = parked_by_size("bnd_wait_go")
    signal(h, "go", "paid")  # delivered while parked: the code does not run
    assert h.record["status"] == "parked"
    ctx, other = retried(h)
    assert [e.type for e in ctx.events] == [ev.WORKFLOW_RESUMED]  # not parked again
    assert h.record["status"] != "parked"
    other.send("wake")
    assert other.types()[-1] == ev.WORKFLOW_COMPLETED
    # The record agrees with the journal: completed, its result, and no error.
    assert other.record["status"] == "completed"
    assert json.loads(other.record["result"]) == "paid"
    assert json.loads(other.record["error"]) is None


def test_retry_of_a_run_still_growing_parks_it_again_after_its_code_ran() -> None:
    h = parked_by_size("bnd_wait_go_twice")
    signal(h, "go", 1)
    ctx, other = retried(h)
    assert ev.WORKFLOW_PARKED not in [e.type for e in ctx.events]
    wake = other.send("wake")  # the code took the first go and waits again: still too big
    assert [e.type for e in wake.events][-1] == ev.WORKFLOW_PARKED
    assert other.record["status"] == "parked"
    assert json.loads(other.record["error"])["type"] == "HistoryLimitError"


def test_a_journal_parked_again_right_after_its_resume_never_ends_while_parked() -> None:
    """The shape an earlier release wrote (it re-parked in the retry's own turn): the code
    replayed past the resume must not be recorded, so the run stays parked, not
    ``completed`` with the park's error on its record."""
    h = parked_by_size("bnd_wait_go")
    signal(h, "go", "paid")
    _, other = retried(h)
    park = next(e for e in reversed(h.journal) if e.type == ev.WORKFLOW_PARKED)
    other.journal.append(type(park)(len(other.journal) + 1, park.type, park.data, park.ts,
                                    None))
    other = other.rebuilt()
    other.record = {**h.record, "status": "parked", "error": json.dumps({"type": "x"})}
    assert other.send("wake").events == []
    assert other.record["status"] == "parked" and ev.WORKFLOW_COMPLETED not in other.types()


def test_the_bytes_buffered_are_bounded_also_after_a_replay() -> None:
    from pyworkflow.engine.commands import signal as signal_kind
    from pyworkflow.serialization import MAX_BYTES

    h = started("bnd_sleep_then_collect", 3)
    big = "x" * (MAX_BYTES - 100)  # one payload under the per-value bound
    fits = signal_kind.MAX_BUFFERED_BYTES // signal_kind.payload_bytes(big)
    for i in range(fits):
        signal(h, f"big-{i % 50}", big)
    reason = refused(h, "signal", name="item", payload=big, signal_id="s-too-much")
    assert f"past {signal_kind.MAX_BUFFERED_BYTES} bytes" in reason
    assert received(h) == fits
    signal(h, "item", "small")  # small payloads still fit
    assert "past" in refused(h.rebuilt(), "signal", name="item", payload=big,
                             signal_id="s-after-replay")
