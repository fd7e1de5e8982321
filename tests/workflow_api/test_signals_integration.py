"""Signals, published values, deadlines and cancelling a running step, on real workers.

Two real ``pyworkflow worker run`` processes serve ``tests.message_workflows`` (which
also registers example 08); the tests talk to runs the way an app and an operator
do: ``send_signal`` / ``get_value`` (sync and ``pyworkflow.client.aio``) and the CLI.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import pyworkflow
from pyworkflow import events as ev
from pyworkflow.client import aio, get_value, get_values, send_signal
from pyworkflow.errors import RunFinishedError, RunNotFoundError, ValueNotSetError
from pyworkflow.serialization import SerializationError
from pyworkflow.wire import SignalSent, encode
from pyworkflow.worker import _runtime
from pyworkflow.worker.retention import RunRetention
from tests._workers import Worker, wait_for, worker_pool
from tests.cli.test_examples_cli import cli

MODULE = "tests.message_workflows"


@pytest.fixture(scope="module")
def workers(rt, log_dir: Path) -> Iterator[list[Worker]]:  # type: ignore[no-untyped-def]
    with worker_pool(MODULE, log_dir, "sig", pool="prefork", concurrency=2) as pool:
        yield pool


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def journal(run_id: str) -> list[dict[str, Any]]:
    return list(pyworkflow.get_workflow_events(run_id))


def wait_event(run_id: str, predicate: Callable[[dict[str, Any]], bool], timeout: float,
               what: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        return next((e for e in journal(run_id) if predicate(e)), None)

    return wait_for(find, timeout, 0.05, f"{what} in run {run_id}")  # type: ignore[no-any-return]


def of_type(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["type"] == kind


# -- signals ------------------------------------------------------------------------------


def test_a_signal_sent_right_after_start_is_kept_until_the_run_waits(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = pyworkflow.start("late_waiter", delay="1s")
    signal_id = send_signal(run_id, "go", {"n": 1})  # before the run's first turn, likely
    assert signal_id.startswith("signal:")
    info = pyworkflow.wait_for_run(run_id, timeout=30)
    assert info.status == "completed", info
    assert info.result == {"n": 1}
    kinds = [e["type"] for e in journal(run_id)]
    assert kinds.index(ev.SIGNAL_RECEIVED) < kinds.index(ev.SLEEP_COMPLETED) \
        < kinds.index(ev.SIGNAL_DELIVERED)
    received = next(e for e in journal(run_id) if e["type"] == ev.SIGNAL_RECEIVED)
    assert received["data"]["signal_id"] == signal_id


def test_two_signals_arrive_in_the_order_they_were_sent(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = pyworkflow.start("signal_collector", count=2)
    send_signal(run_id, "item", "first")
    send_signal(run_id, "item", {"second": [2]})
    info = pyworkflow.wait_for_run(run_id, timeout=30)
    assert info.status == "completed", info
    assert info.result == ["first", {"second": [2]}]
    assert [e["type"] for e in journal(run_id)].count(ev.SIGNAL_DELIVERED) == 2


def test_a_signal_sent_twice_with_one_id_is_one_signal(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = pyworkflow.start("signal_collector", count=2)
    sid = f"signal:{uuid.uuid4().hex}"
    assert send_signal(run_id, "item", 1, signal_id=sid) == sid
    wait_event(run_id, of_type(ev.SIGNAL_RECEIVED), 20, "the first signal")
    send_signal(run_id, "item", 1, signal_id=sid)  # an app's retry of the same send
    send_signal(run_id, "item", 2)
    assert pyworkflow.wait_for_run(run_id, timeout=30).result == [1, 2]


def test_signals_from_the_cli_show_in_runs_logs(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = pyworkflow.start("signal_collector", count=1)
    out = cli("runs", "signal", run_id, "item", "--payload", '{"approved": true}')
    assert f"Sent signal 'item' to run {run_id}" in out.stdout
    assert pyworkflow.wait_for_run(run_id, timeout=30).result == [{"approved": True}]
    logs = cli("runs", "logs", run_id).stdout
    received = next(line for line in logs.splitlines() if ev.SIGNAL_RECEIVED in line)
    assert 'item  <- {"approved": true}' in received
    assert any(ev.SIGNAL_DELIVERED in line for line in logs.splitlines())


def test_a_signal_to_an_unknown_or_finished_run_is_refused(workers) -> None:  # type: ignore[no-untyped-def]
    missing = "run-" + "0" * 20
    with pytest.raises(RunNotFoundError):
        send_signal(missing, "item", 1)
    refused = cli("runs", "signal", missing, "item", check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip().count("\n") == 0 and "no run" in refused.stderr

    run_id = pyworkflow.start("signal_collector", count=1)
    send_signal(run_id, "item", "only")
    assert pyworkflow.wait_for_run(run_id, timeout=30).status == "completed"
    before = journal(run_id)
    with pytest.raises(RunFinishedError, match="already completed"):
        send_signal(run_id, "item", "late")
    refused = cli("runs", "signal", run_id, "item", "--payload", "1", check=False)
    assert refused.returncode == 1, refused
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "already completed" in lines[0] and "nothing was sent" in lines[0]
    assert journal(run_id) == before  # the run is not changed


def test_a_bad_signal_is_refused_before_anything_is_sent(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = pyworkflow.start("signal_collector", count=1)
    with pytest.raises(TypeError, match="non-empty string"):
        send_signal(run_id, "", 1)
    with pytest.raises(SerializationError):
        send_signal(run_id, "item", object())
    with pytest.raises(SerializationError):
        send_signal(run_id, "item", "x" * (2 * 1024 * 1024))  # over the input limit
    too_deep = "[" * 200 + "]" * 200
    refused = cli("runs", "signal", run_id, "item", "--payload", too_deep, check=False)
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
    refused = cli("runs", "signal", run_id, "item", "--payload", "{nope", check=False)
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
    assert ev.SIGNAL_RECEIVED not in [e["type"] for e in journal(run_id)]
    send_signal(run_id, "item", "good")
    assert pyworkflow.wait_for_run(run_id, timeout=30).result == ["good"]


def dead_letter_ids(run_id: str) -> dict[str, str]:
    """The message ids of the run's dead letters, with their reasons."""
    letters = _runtime.runtime().system.dead_letters.entries(limit=5000, actor_id=run_id)
    return {json.loads(d.raw)["msg_id"]: d.reason for d in letters}


def test_no_signal_raced_against_the_run_end_vanishes(workers) -> None:  # type: ignore[no-untyped-def]
    """Issue 24: every signal whose send returned an id is in the run's journal or in the
    dead letters ("run already completed"), never dropped without a trace."""
    takes, sends = 200, 260
    run_id = pyworkflow.start("signal_collector", count=takes)
    wait_event(run_id, of_type(ev.SIGNAL_WAIT_STARTED), 20, "the first wait")

    def send(i: int) -> str | None:
        try:
            return send_signal(run_id, "item", i)
        except RunFinishedError:
            return None  # refused by the client: nothing was sent, no id was given

    with ThreadPoolExecutor(6) as pool:
        sent = [sid for sid in pool.map(send, range(sends)) if sid is not None]
    assert pyworkflow.wait_for_run(run_id, timeout=30).status == "completed"
    # Messages the client let through just before the end, still on their way when it
    # came: sent straight through the actor system, past the client's check.
    rt = _runtime.runtime()
    for i in range(5):
        sid = f"signal:late-{uuid.uuid4().hex}"
        rt.system.send(run_id, "signal", encode(SignalSent("item", i, sid)), msg_id=sid)
        sent.append(sid)

    def accounted() -> dict[str, Any] | None:
        journaled = {e["data"].get("signal_id") for e in journal(run_id)
                     if e["type"] == ev.SIGNAL_RECEIVED}
        letters = dead_letter_ids(run_id)
        missing = [s for s in sent if s not in journaled and s not in letters]
        return None if missing else {"journaled": journaled, "letters": letters}

    found = wait_for(accounted, 30, 0.1, "every signal in the journal or the dead letters")
    late = [found["letters"][s] for s in sent if s in found["letters"]]
    assert len(late) >= 5 and set(late) <= {"rejected: run already completed"}, set(late)
    print(f"{len(sent)} signals: {len(sent) - len(late)} journaled, {len(late)} dead letters")


def test_a_message_to_a_purged_run_recreates_nothing(workers) -> None:  # type: ignore[no-untyped-def]
    """Issue 24: a late signal after a purge wrote a ``pending`` record (workflow ``?``)
    that no index listed and no purge removed, and that accepted signals."""
    rt = _runtime.runtime()
    run_id = pyworkflow.start("signal_collector", count=1)
    send_signal(run_id, "item", "only")
    assert pyworkflow.wait_for_run(run_id, timeout=30).status == "completed"
    retention = RunRetention(rt.redis, rt.settings.key_prefix, rt.system)
    # The run's last turn may still hold it for a moment after its end is visible (its
    # release, its seal): purge refuses until then (False), as it should.
    wait_for(lambda: retention.purge(run_id, force=True), 10, 0.05, "the run to be purged")
    actor = rt.system.actor_keys(run_id)
    assert not rt.redis.exists(actor.record, actor.journal)
    message = rt.system.send(run_id, "signal",
                             encode(SignalSent("item", "late", "signal:after-purge")),
                             msg_id="signal:after-purge")
    reason = wait_for(lambda: dead_letter_ids(run_id).get(message.msg_id), 30, 0.1,
                      "the late signal in the dead letters")
    assert reason == "rejected: no such run (purged or never started)"
    wait_for(lambda: not rt.system.is_active(run_id), 10, 0.05, "the turn to end")
    assert not rt.redis.exists(actor.record, actor.journal)
    with pytest.raises(RunNotFoundError):
        send_signal(run_id, "item", "and another")


# -- published values ---------------------------------------------------------------------


def test_a_published_value_is_read_by_the_client_and_the_cli(workers) -> None:  # type: ignore[no-untyped-def]
    order = unique("order")
    run_id = pyworkflow.start("publisher", order)
    progress = get_value(run_id, "progress", timeout=30)
    assert progress == {"order_id": order, "done": 1}
    assert get_values(run_id) == {"progress": {"order_id": order, "done": 1}}
    with pytest.raises(ValueNotSetError):
        get_value(run_id, "final")  # not set yet, and no timeout: at once
    shown = json.loads(cli("--output", "json", "runs", "values", run_id).stdout)
    assert shown == {"progress": {"order_id": order, "done": 1}}
    table = cli("runs", "values", run_id).stdout
    assert "progress" in table and '"done": 1' in table
    missing = cli("runs", "values", run_id, "final", check=False)
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1

    with ThreadPoolExecutor(1) as pool:  # a wait for a value is woken when it is set
        waiting = pool.submit(get_value, run_id, "final", 30)
        time.sleep(0.3)  # give the wait time to block before the value can exist
        assert not waiting.done()
        send_signal(run_id, "go")
        started = time.monotonic()
        assert waiting.result(30) == f"shipped {order}"
    assert time.monotonic() - started < 10
    assert pyworkflow.wait_for_run(run_id, timeout=30).status == "completed"
    assert get_values(run_id) == {"progress": {"order_id": order, "done": 2},
                                  "final": f"shipped {order}"}
    one = json.loads(cli("--output", "json", "runs", "values", run_id, "final").stdout)
    assert one == f"shipped {order}"
    with pytest.raises(ValueNotSetError, match="completed"):
        get_value(run_id, "never", timeout=5)  # the run ended without it: no waiting


def test_aio_reads_values_and_sends_signals(workers) -> None:  # type: ignore[no-untyped-def]
    order = unique("order")

    async def scenario() -> tuple[Any, Any, dict[str, Any]]:
        run_id = await aio.start("publisher", order)
        first = await aio.get_value(run_id, "progress", timeout=30)
        waiting = asyncio.ensure_future(aio.get_value(run_id, "final", timeout=30))
        await aio.send_signal(run_id, "go")
        final = await waiting
        await aio.wait_for_run(run_id, timeout=30)
        return first, final, await aio.get_values(run_id)

    first, final, values = asyncio.run(scenario())
    assert first == {"order_id": order, "done": 1}
    assert final == f"shipped {order}"
    assert values["progress"]["done"] == 2


def test_get_value_with_a_timeout_raises_timeout_error(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = pyworkflow.start("publisher", unique("order"))
    get_value(run_id, "progress", timeout=30)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="final"):
        get_value(run_id, "final", timeout=0.5)
    assert 0.4 <= time.monotonic() - started < 5
    send_signal(run_id, "go")
    assert pyworkflow.wait_for_run(run_id, timeout=30).status == "completed"


# -- deadlines and cancelling a running step ----------------------------------------------


def test_a_run_past_its_max_duration_fails_after_its_shielded_cleanup(workers) -> None:  # type: ignore[no-untyped-def]
    tag = unique("t")
    started = time.monotonic()
    run_id = pyworkflow.start("overdue", tag)
    info = pyworkflow.wait_for_run(run_id, timeout=30)
    took = time.monotonic() - started
    assert info.status == "failed", info
    assert info.error is not None and info.error["type"] == "WorkflowTimeoutError", info.error
    assert 3 <= took < 10, took
    done = [e for e in journal(run_id) if e["type"] == ev.STEP_COMPLETED]
    assert [e["data"]["step"] for e in done] == ["cleanup"]
    assert done[0]["data"]["result"] == f"cleaned {tag}"


# serial: it times the stop (within seconds, the CLI's start-up included), which other
# tests' load would stretch
@pytest.mark.serial
def test_a_cancelled_long_step_stops_within_two_seconds(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = pyworkflow.start("cancellable_order_workflow", unique("order"), items=600)
    wait_event(run_id, lambda e: e["type"] == ev.STEP_SCHEDULED
               and e["data"]["step"] == "pack_items", 20, "the packing step")
    time.sleep(0.5)  # let the step get going (it packs for 60 s if not stopped)
    cancelled_at = time.time()
    out = cli("runs", "cancel", run_id, "--reason", "stop packing")
    assert "Cancellation requested" in out.stdout
    failed = wait_event(run_id, lambda e: e["type"] == ev.STEP_FAILED
                        and e["data"]["step"] == "pack_items", 10, "the packing step to stop")
    assert failed["data"]["error_type"] == "CancellationError", failed
    assert failed["data"]["will_retry"] is False
    requested = wait_event(run_id, of_type(ev.CANCEL_REQUESTED), 10, "the cancel")
    assert failed["timestamp"] - requested["timestamp"] < 2.0, (failed, requested)
    assert failed["timestamp"] - cancelled_at < 5.0  # including the CLI's own start-up
    info = pyworkflow.wait_for_run(run_id, timeout=20)
    assert info.status == "cancelled", info
    steps = [e["data"]["step"] for e in journal(run_id) if e["type"] == ev.STEP_COMPLETED]
    assert steps == ["reserve_inventory", "release_inventory"]  # the cleanup ran
