"""What the engine tells the runtime about sealing a run's journal (``actors.sealed``),
and how a finished run whose seen set went with the seal still knows a retry it had:
no Redis, the in-memory ports."""

from __future__ import annotations

import json
from typing import Any

from actors import Event, Message, TurnContext
from pyworkflow import events as ev
from pyworkflow import hook, sleep, step, workflow
from tests.engine.harness import Harness


@step(max_retries=0)
async def seal_flaky() -> int:
    return 1


@workflow(name="seal_hint_flaky")
async def flaky() -> int:
    return await seal_flaky()


@workflow(name="seal_hint_hook")
async def waits_on_hook() -> Any:
    return await hook("seal_hint_door")


@workflow(name="seal_hint_short_sleep")
async def short_sleep() -> int:
    await sleep("2s")
    return 1


@workflow(name="seal_hint_long_sleep")
async def long_sleep() -> int:
    await sleep("1h")
    return 1


def send(h: Harness, kind: str, msg_id: str, **payload: Any) -> TurnContext:
    """As ``Harness.send``, with the message id chosen (a redelivery reuses one)."""
    ctx = TurnContext(actor_id=h.run_id, turn=1, seq=len(h.journal))
    ctx.current_msg_id = msg_id
    h.behaviour.handle(h.state, Message(kind, h.run_id, payload, msg_id=msg_id), ctx)
    h.behaviour.settle(h.state, ctx)
    for e in ctx.events:
        h.journal.append(Event(len(h.journal) + 1, e.type, json.loads(json.dumps(e.data)),
                               e.ts, e.msg_id))
    h.record.update(ctx.record)
    return ctx


def fail_step(h: Harness, ctx: TurnContext) -> TurnContext:
    (task,) = h.steps(ctx)
    return h.send("step-failed", call_id=task["call_id"], attempt=task["attempt"], ok=False,
                  error_type="ValueError", error="no", fatal=True)


def test_an_ended_run_is_sealed_with_its_seen_set_and_a_waiting_one_without() -> None:
    h = Harness("run-seal-hook")
    ctx = h.send("start", workflow="seal_hint_hook", args=[], kwargs={})
    assert ctx.compact == "waits"  # a hook: nothing due, worth sealing; seen set kept
    h = Harness("run-seal-short")
    assert h.send("start", workflow="seal_hint_short_sleep", args=[], kwargs={}).compact is None
    h = Harness("run-seal-long")
    assert h.send("start", workflow="seal_hint_long_sleep", args=[], kwargs={}).compact == "waits"
    h = Harness("run-seal-flaky")
    started = h.send("start", workflow="seal_hint_flaky", args=[], kwargs={})
    assert started.compact is None  # a step in flight: the journal grows again soon
    ended = fail_step(h, started)
    assert h.record["status"] == "failed" and ended.compact == "ended"


def test_a_retry_delivered_again_after_the_run_failed_again_is_ignored() -> None:
    h = Harness("run-seal-retry")
    fail_step(h, h.send("start", workflow="seal_hint_flaky", args=[], kwargs={}))
    first = send(h, "retry", "retry-1")
    assert [e.type for e in first.events][0] == ev.RUN_RETRIED
    # As after the retry's commit: rebuilt, then woken. The positions the retry masked
    # come from the journal's own run_retried (the store is not asked: it has none here).
    def no_store_read(run_id: str) -> set[int]:
        raise AssertionError("the masked positions were read from the store")

    h.ports.runs.masked = no_store_read  # type: ignore[method-assign]
    other = h.rebuilt()
    other.record = dict(h.record)
    other.send("wake")
    fail_step(other, first)  # the step's second attempt, sent by the retry, fails too
    assert other.record["status"] == "failed"
    # The same retry again (its seen set went with the seal): nothing happens.
    again = send(other, "retry", "retry-1")
    assert again.events == [] and other.record["status"] == "failed"
    assert [e.type for e in send(other, "retry", "retry-2").events][0] == ev.RUN_RETRIED
