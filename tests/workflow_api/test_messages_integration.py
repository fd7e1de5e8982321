"""Examples 05, 07 and 08 on real workers: idempotency, hooks and cancellation.

Everything that reaches a run from outside — a repeated start, a hook payload, a
cancel — arrives as a message; these tests check each promise end to end, with
two real ``pyworkflow worker run`` processes serving ``examples.celery.durable``.
"""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import shlex
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import pyworkflow
from pyworkflow import (
    HookAlreadyReceivedError,
    HookExpiredError,
    HookNotFoundError,
    HookPayloadError,
)
from pyworkflow import events as ev
from pyworkflow.registry import get_workflow
from tests._workers import Worker, wait_for, worker_pool
from tests.cli.test_examples_cli import cli

PACKAGE = "examples.celery.durable"


@pytest.fixture(scope="module")
def workers(rt, log_dir: Path) -> Iterator[list[Worker]]:  # type: ignore[no-untyped-def]
    with worker_pool(PACKAGE, log_dir, "msg", pool="prefork", concurrency=2) as pool:
        yield pool


@pytest.fixture(scope="module")
def payments(workers: list[Worker]) -> Any:
    module = importlib.import_module(f"{PACKAGE}.05_idempotency")
    defined_in = get_workflow("payment_workflow").fn.__module__
    assert defined_in == module.__name__, (
        f"'payment_workflow' resolves to {defined_in}, not {module.__name__}: another example "
        "registers a workflow of the same name, and the last import wins")
    return module


# -- helpers ------------------------------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def events(run_id: str) -> list[dict[str, Any]]:
    return list(pyworkflow.get_workflow_events(run_id))


def types(run_id: str) -> list[str]:
    return [e["type"] for e in events(run_id)]


def wait_done(run_id: str, timeout: float = 60) -> pyworkflow.RunInfo:
    def done() -> pyworkflow.RunInfo | None:
        info = pyworkflow.get_workflow_run(run_id)
        return info if info.finished or info.status == "parked" else None

    return wait_for(done, timeout, 0.05, f"run {run_id} to finish")  # type: ignore[no-any-return]


def wait_event(run_id: str, predicate: Callable[[dict[str, Any]], bool], timeout: float,
               what: str, count: int = 1) -> dict[str, Any]:
    """The ``count``-th journal event matching ``predicate``, polled until ``timeout``."""
    def find() -> dict[str, Any] | None:
        found = [e for e in events(run_id) if predicate(e)]
        return found[count - 1] if len(found) >= count else None

    return wait_for(find, timeout, 0.05, f"{what} in run {run_id}")  # type: ignore[no-any-return]


def step_event(kind: str, step: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["type"] == kind and e["data"].get("step") == step


def pending_hook(run_id: str, name: str, timeout: float = 20) -> pyworkflow.client.hooks.HookInfo:
    def find() -> Any:
        hooks = [h for h in pyworkflow.list_hooks(status="pending", run_id=run_id)
                 if h.name == name]
        return hooks[0] if hooks else None

    return wait_for(find, timeout, 0.05, f"a pending hook {name!r} of run {run_id}")  # type: ignore[no-any-return]


def stays(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    """Check ``predicate`` keeps holding for ``seconds`` (polled, so it fails fast)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert predicate(), what
        time.sleep(0.05)


def _start_concurrently(env: dict[str, str], barrier: Any, results: Any, payment_id: str,
                        key: str, starts: int) -> None:
    """In a spawned process: ``starts`` threads start one payment with one key at once."""
    os.environ.update(env)
    import examples.celery.durable  # noqa: F401

    barrier.wait(60)
    with ThreadPoolExecutor(starts) as threads:
        ids = list(threads.map(lambda _: str(pyworkflow.start(
            "payment_workflow", payment_id, 10.0, idempotency_key=key)), range(starts)))
    results.put(ids)


# -- 05: idempotency ------------------------------------------------------------------------


def test_twenty_concurrent_starts_with_one_key_make_one_run(workers, payments,  # type: ignore[no-untyped-def]
                                                           redis_env: dict[str, str]) -> None:
    payment_id, key = unique("pay-race"), unique("payment-race")
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_start_concurrently,
                         args=(dict(redis_env), barrier, results, payment_id, key, 5))
             for _ in range(4)]
    for p in procs:
        p.start()
    ids = [run_id for _ in procs for run_id in results.get(timeout=90)]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert len(ids) == 20
    assert len(set(ids)) == 1, set(ids)
    runs = [r for r in pyworkflow.list_workflow_runs(workflow="payment_workflow", limit=10_000)
            if r.args and r.args[0] == payment_id]
    assert [r.run_id for r in runs] == [ids[0]]
    assert wait_done(ids[0]).status == "completed"
    assert payments.ledger_charges(payment_id) == 1


def test_cli_idempotency_key_returns_the_same_run_twice(workers, payments) -> None:  # type: ignore[no-untyped-def]
    command = ["--output", "json", "--module", f"{PACKAGE}.05_idempotency", "workflows", "run",
               "payment_workflow", "--arg", "payment_id=pay-123", "--arg", "amount=99.99",
               "--idempotency-key", "payment-pay-123"]
    first = json.loads(cli(*command).stdout)["run_id"]
    second = json.loads(cli(*command).stdout)["run_id"]
    assert first == second
    final = wait_done(first)
    assert final.status == "completed", final
    assert final.result["receipt"].startswith("Receipt for pay-123: 99.99 charged (txn-")
    assert payments.ledger_charges("pay-123") == 1


def test_payment_is_charged_once_across_a_forced_retry(workers, payments) -> None:  # type: ignore[no-untyped-def]
    payment_id = unique("pay-retry")
    run_id = pyworkflow.start("payment_workflow", payment_id, 42.5, fail_first_attempt=True)
    final = wait_done(run_id)
    assert final.status == "completed", final
    assert final.result["attempts"] == 2
    requests = payments.ledger_requests(payment_id)
    assert [r["attempt"] for r in requests] == [1, 2]  # the provider saw the step twice...
    assert payments.ledger_charges(payment_id) == 1  # ...and charged once
    keys = {r["idempotency_key"] for r in requests}
    assert keys == {final.result["idempotency_key"]}  # one key for both attempts
    key = keys.pop()
    assert key.startswith(f"{run_id}:")
    stored = payments.provider_charge(key, payment_id, 42.5, 99)  # what the provider holds
    assert final.result["transaction_id"] == stored["transaction_id"]
    journal = events(run_id)
    failed = [e for e in journal if step_event(ev.STEP_FAILED, "charge_customer")(e)]
    assert [e["data"]["attempt"] for e in failed] == [1]
    assert failed[0]["data"]["error_type"] == "RetryableError"
    assert len([e for e in journal if step_event(ev.STEP_COMPLETED, "charge_customer")(e)]) == 1


# -- 07: hooks -------------------------------------------------------------------------------


def test_typed_hook_resumed_completes_with_the_models_fields(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = pyworkflow.start("approval_workflow", unique("order"), 1250.0)
    pending = pending_hook(run_id, "order_approval")
    wait_for(lambda: pyworkflow.get_workflow_run(run_id).status == "suspended", 20, 0.05,
             "the run to suspend on its hook")
    created = wait_event(run_id, lambda e: e["type"] == ev.HOOK_CREATED, 10, "hook_created")
    assert created["data"]["token"] == pending.token
    assert created["data"]["expires_at_ms"] is None
    # on_created ran once, after the commit, and told the operator how to resume.
    needle = f"hooks resume {pending.token} --payload"
    wait_for(lambda: sum(w.log_text().count(needle) for w in workers) >= 1, 10, 0.05,
             "on_created's log line")
    info = pyworkflow.resume_hook(pending.token, {"approved": True, "reviewer": "alice",
                                                  "comments": "within budget"})
    assert info.run_id == run_id
    final = wait_done(run_id)
    assert final.status == "completed", final
    assert final.result == {"order_id": final.args[0], "amount": 1250.0, "approved": True,
                            "reviewer": "alice", "comments": "within budget",
                            "state": "fulfilled"}
    received = [e for e in events(run_id) if e["type"] == ev.HOOK_RECEIVED]
    assert len(received) == 1
    assert received[0]["data"]["payload"] == {"approved": True, "reviewer": "alice",
                                              "comments": "within budget"}
    assert sum(w.log_text().count(needle) for w in workers) == 1  # never again on replay


def test_the_command_on_created_logs_resumes_the_hook(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = pyworkflow.start("approval_workflow", unique("order"), 99.0)
    token = pending_hook(run_id, "order_approval").token

    def logged_command() -> str | None:
        for w in workers:
            for line in w.log_text().splitlines():
                if token in line and line.startswith("{"):
                    return str(json.loads(line)["event"]).split("resume it with: ", 1)[1]
        return None

    command = shlex.split(wait_for(logged_command, 10, 0.05, "on_created's log line"))
    assert command[0] == "pyworkflow"
    cli(*command[1:])
    final = wait_done(run_id)
    assert final.status == "completed", final
    assert (final.result["approved"], final.result["reviewer"], final.result["comments"]) == \
        (True, "alice", "looks good")


def test_typed_hook_refuses_an_invalid_payload_then_takes_one_delivery(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = pyworkflow.start("approval_workflow", unique("order"), 80.0)
    token = pending_hook(run_id, "order_approval").token
    with pytest.raises(HookPayloadError) as refused:
        pyworkflow.resume_hook(token, {"approved": "perhaps"})
    fields = {tuple(err["loc"]) for err in refused.value.errors}
    assert fields == {("approved",), ("reviewer",)}, refused.value.errors
    assert pyworkflow.get_hook(token).status == "pending"
    assert "hook_received" not in types(run_id)
    assert not pyworkflow.get_workflow_run(run_id).finished

    pyworkflow.resume_hook(token, {"approved": False, "reviewer": "bob",
                                   "comments": "over budget"})
    final = wait_done(run_id)
    assert final.status == "completed", final
    assert final.result["state"] == "rejected"
    assert (final.result["approved"], final.result["reviewer"], final.result["comments"]) == \
        (False, "bob", "over budget")
    with pytest.raises(HookAlreadyReceivedError):
        pyworkflow.resume_hook(token, {"approved": True, "reviewer": "mallory"})
    with pytest.raises(HookNotFoundError):
        pyworkflow.resume_hook(unique("no-such-token"), {"approved": True, "reviewer": "eve"})
    assert [e["type"] for e in events(run_id)].count("hook_received") == 1


def test_hook_timeout_raises_hook_expired_in_the_workflow(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = pyworkflow.start("simple_hook_workflow", unique("req"), timeout="2s")
    token = pending_hook(run_id, "simple_approval").token
    final = wait_done(run_id, 30)
    assert final.status == "completed", final
    assert final.result == {"request_id": final.args[0], "status": "expired",
                            "state": "escalated"}
    journal = events(run_id)
    (created,) = [e for e in journal if e["type"] == ev.HOOK_CREATED]
    (expired,) = [e for e in journal if e["type"] == ev.HOOK_EXPIRED]
    waited = expired["timestamp"] - created["timestamp"]
    assert 2.0 <= waited <= 3.0, f"the 2 s hook expired after {waited:.3f}s"
    assert created["data"]["expires_at_ms"] <= expired["timestamp"] * 1000
    assert pyworkflow.get_hook(token).status == "expired"
    with pytest.raises(HookExpiredError):
        pyworkflow.resume_hook(token, {"note": "too late"})


def test_plain_hook_takes_any_json_payload(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = pyworkflow.start("simple_hook_workflow", unique("req"))
    hook = pending_hook(run_id, "simple_approval")
    assert hook.expires_at is not None and hook.expires_at - time.time() > 23 * 3600  # 24h
    pyworkflow.resume_hook(hook.token, {"note": "go ahead", "priority": [1, 2]})
    final = wait_done(run_id)
    assert final.status == "completed", final
    assert final.result["status"] == "received"
    assert final.result["payload"] == {"note": "go ahead", "priority": [1, 2]}


def test_two_approvals_in_sequence(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = pyworkflow.start("two_step_approval_workflow", unique("req"), 7500.0)
    manager = pending_hook(run_id, "manager_approval")
    assert [h.name for h in pyworkflow.list_hooks(run_id=run_id)] == ["manager_approval"]
    pyworkflow.resume_hook(manager.token, {"approved": True, "reviewer": "manager-mia"})
    finance = pending_hook(run_id, "finance_approval")
    assert finance.token != manager.token
    assert pyworkflow.get_hook(manager.token).status == "received"
    assert not pyworkflow.get_workflow_run(run_id).finished
    pyworkflow.resume_hook(finance.token, {"approved": True, "reviewer": "finance-fay",
                                           "comments": "budgeted"})
    final = wait_done(run_id)
    assert final.status == "completed", final
    assert final.result["approved"] is True
    assert final.result["approvals"] == [
        {"approved": True, "reviewer": "manager-mia", "comments": ""},
        {"approved": True, "reviewer": "finance-fay", "comments": "budgeted"}]
    hooks = [e["data"]["name"] for e in events(run_id) if e["type"] == ev.HOOK_RECEIVED]
    assert hooks == ["manager_approval", "finance_approval"]


# -- 08: cancellation -----------------------------------------------------------------------


def test_cancel_during_the_first_sleep_releases_and_ends_cancelled(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = pyworkflow.start("cancellable_order_workflow", unique("order"), delay="60s")
    slept = wait_event(run_id, lambda e: e["type"] == ev.SLEEP_STARTED, 20, "the first sleep")
    assert slept["data"]["wake_at_ms"] - slept["timestamp"] * 1000 >= 59_000
    cancelled_at = time.monotonic()
    pyworkflow.cancel_workflow(run_id, reason="Customer cancelled")
    wait_event(run_id, step_event(ev.STEP_COMPLETED, "release_inventory"), 10,
               "the release step to complete")
    assert time.monotonic() - cancelled_at <= 10
    final = wait_done(run_id, 20)
    assert final.status == "cancelled", final
    journal = events(run_id)
    kinds = [e["type"] for e in journal]
    assert "sleep_completed" not in kinds
    assert kinds[-1] == ev.WORKFLOW_CANCELLED
    assert journal[-1]["data"].get("reason") == "Customer cancelled"
    requested = kinds.index("cancel_requested")
    interrupted = kinds.index("wait_cancelled")
    release = next(i for i, e in enumerate(journal)
                   if step_event(ev.STEP_SCHEDULED, "release_inventory")(e))
    assert requested < interrupted < release
    assert journal[requested]["data"]["reason"] == "Customer cancelled"
    steps = [e["data"]["step"] for e in journal if e["type"] == ev.STEP_SCHEDULED]
    assert steps == ["reserve_inventory", "release_inventory"]  # never charged, no refund


def test_cancel_after_the_charge_refunds_it(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = pyworkflow.start("cancellable_order_workflow", unique("order"), delay="0.2s",
                              ship_delay="60s")
    wait_event(run_id, lambda e: e["type"] == ev.SLEEP_STARTED, 20, "the second sleep", count=2)
    info = pyworkflow.cancel_workflow(run_id, reason="changed my mind", wait=True, timeout=15)
    assert info.status == "cancelled", info
    steps = [e["data"]["step"] for e in events(run_id) if e["type"] == ev.STEP_COMPLETED]
    assert steps == ["reserve_inventory", "charge_order", "release_inventory",
                     "refund_payment"]


def test_cancel_with_wait_returns_cancelled(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = pyworkflow.start("cancellable_order_workflow", unique("order"), delay="60s")
    wait_for(lambda: pyworkflow.get_workflow_run(run_id).status == "suspended", 20, 0.05,
             "the run to suspend in its sleep")
    started = time.monotonic()
    info = pyworkflow.cancel_workflow(run_id, reason="no longer needed", wait=True, timeout=15)
    assert info.status == "cancelled", info
    assert info.finished
    assert time.monotonic() - started < 15
    assert pyworkflow.get_workflow_run(run_id).status == "cancelled"


def test_cancelling_a_finished_run_leaves_it_unchanged(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = pyworkflow.start("cancellable_order_workflow", unique("order"), delay="0.1s")
    final = wait_done(run_id)
    assert final.status == "completed", final
    before = events(run_id)
    info = pyworkflow.cancel_workflow(run_id, reason="too late")
    assert info.status == "completed"
    assert info.result == final.result
    stays(lambda: events(run_id) == before
          and pyworkflow.get_workflow_run(run_id).status == "completed",
          1.0, "a finished run changed after a cancel")


def test_runs_cancel_cli_as_the_readme_types_it(workers) -> None:  # type: ignore[no-untyped-def]
    run_id = json.loads(cli("--output", "json", "--module", f"{PACKAGE}.08_cancellation",
                            "workflows", "run", "cancellable_order_workflow",
                            "--arg", "order_id=order-123").stdout)["run_id"]
    wait_event(run_id, lambda e: e["type"] == ev.SLEEP_STARTED, 20, "the first sleep")
    proc = cli("runs", "cancel", run_id, "--reason", "Customer cancelled", check=False)
    if proc.returncode != 0 and "No such command" in proc.stderr:
        pyworkflow.cancel_workflow(run_id, reason="test cleanup", wait=True, timeout=15)
        pytest.skip("`pyworkflow runs cancel` does not exist yet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    final = wait_done(run_id, 20)
    assert final.status == "cancelled", final
    requested = [e for e in events(run_id) if e["type"] == ev.CANCEL_REQUESTED]
    assert [e["data"]["reason"] for e in requested] == ["Customer cancelled"]
