"""Concurrency limits on runs, on real workers: never more than ``max`` runs of one key
at once (measured from the journals), every run completes, in order of arrival, and the
``cancel_newest`` policy."""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from click.testing import CliRunner

import pyworkflow
from pyworkflow.cli import cli
from tests._workers import Worker, wait_for

MODULE = "tests.flow_workflows"


def _span(run_id: str) -> tuple[float, float]:
    """When the run's code began and when the run ended, from its journal."""
    events = pyworkflow.get_workflow_events(run_id)
    began = next(e["timestamp"] for e in events if e["type"] == "workflow_started")
    ended = next(e["timestamp"] for e in events if e["type"] == "workflow_completed")
    return began, ended


def most_at_once(spans: list[tuple[float, float]]) -> int:
    """The most spans open at one instant (an end at t comes before a start at t)."""
    edges = sorted([(b, 1) for b, _ in spans] + [(e, -1) for _, e in spans],
                   key=lambda edge: (edge[0], edge[1]))
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def _limited_runs(rt: Any, log_dir: Path, runs: int, keys: int, pause: float,
                  name: str) -> None:
    import tests.flow_workflows  # noqa: F401

    workers = [Worker(MODULE, log_dir, f"{name}-{i}", pool="threads", concurrency=8)
               for i in range(2)]
    try:
        tag = uuid.uuid4().hex[:6]
        by_key: dict[str, list[str]] = defaultdict(list)
        # Started before the workers, a key's runs one after the other: each key's runs
        # arrive together, more than three at once (round robin over the keys, the
        # workers' threads would mostly hold runs of different keys).
        for i in range(runs):
            key = f"{tag}-{i * keys // runs}"
            by_key[key].append(pyworkflow.start("per_customer", key, pause))
        began = time.monotonic()
        for worker in workers:
            worker.start()
        for ids in by_key.values():
            for run_id in ids:
                assert pyworkflow.get_result(run_id, timeout=300) is not None
        took = time.monotonic() - began
        print(f"{runs} runs over {keys} keys (max=3) completed in {took:.1f}s")
        most = {key: most_at_once([_span(run_id) for run_id in ids])
                for key, ids in by_key.items()}
        assert max(most.values()) == 3, most  # never more than 3; the limit was reached
        waited = sum(1 for ids in by_key.values() for run_id in ids
                     if pyworkflow.get_workflow_run(run_id).status == "completed"
                     and pyworkflow.get_workflow_events(run_id)[0]["type"] == "slot_waiting")
        print(f"most held at once per key: {sorted(most.values())}; {waited} runs waited")
        assert waited > 0
        # no slot is left held once every run has ended (their releases run after commit)
        prefix = rt.settings.key_prefix
        wait_for(lambda: all(rt.redis.zcard(
            f"{prefix}:{{flow:workflow:per_customer:customer_id={key}}}:holders") == 0
            for key in by_key), 30, message="every slot to be let go")
    finally:
        for worker in workers:
            worker.stop()


def test_at_most_three_runs_per_key_at_once_and_every_run_completes(
        rt: Any, log_dir: Path) -> None:
    _limited_runs(rt, log_dir, runs=120, keys=4, pause=0.05, name="flow-runs")


def test_a_thousand_runs_over_twenty_keys_never_hold_more_than_three_per_key(
        rt: Any, log_dir: Path) -> None:
    _limited_runs(rt, log_dir, runs=1000, keys=20, pause=0.1, name="flow-runs-1k")


def test_runs_waiting_for_a_slot_start_in_order_of_arrival_and_say_why_they_wait(
        rt: Any, log_dir: Path) -> None:
    import tests.flow_workflows  # noqa: F401

    key = f"fifo-{uuid.uuid4().hex[:6]}"
    worker = Worker(MODULE, log_dir, "flow-fifo", pool="threads", concurrency=8).start()
    try:
        # staggered ends: the two waiters are granted a second apart, in their order
        ids = [pyworkflow.start("per_customer", key, pause) for pause in (3.0, 4.0, 5.0)]
        wait_for(lambda: all(pyworkflow.get_workflow_run(r).status == "running" for r in ids),
                 30, message="three runs to hold the three slots")
        for _ in range(2):  # one after the other: their arrival order is known
            ids.append(pyworkflow.start("per_customer", key, 0.1))
            wait_for(lambda: pyworkflow.get_workflow_run(ids[-1]).waiting_for, 30,
                     message="the newcomer to wait")
        waiting = ids[4]
        # in process (a CLI subprocess takes seconds to start: the wait could be over)
        status = json.loads(CliRunner().invoke(
            cli, ["--output", "json", "runs", "status", waiting], catch_exceptions=False).output)
        assert status["waiting_for"] == f"waiting for a slot: customer_id={key}, 3 of 3 held"
        for run_id in ids:
            pyworkflow.get_result(run_id, timeout=60)
        starts = [_span(run_id)[0] for run_id in ids]
        assert starts[3] < starts[4]  # the two that waited began in the order they came
        assert max(starts[:3]) < min(starts[3:])
    finally:
        worker.stop()


def test_cancel_newest_ends_the_newcomer_cancelled_while_the_slot_is_held(
        rt: Any, log_dir: Path) -> None:
    import tests.flow_workflows  # noqa: F401

    worker = Worker(MODULE, log_dir, "flow-newest", pool="threads", concurrency=4).start()
    try:
        first = pyworkflow.start("only_one", 2.0)
        wait_for(lambda: pyworkflow.get_workflow_run(first).status == "running", 30,
                 message="the first run to hold the slot")
        second = pyworkflow.start("only_one", 0.0)
        info = pyworkflow.wait_for_run(second, timeout=30)
        assert info.status == "cancelled"
        assert "cancel_newest" in (info.error or {}).get("message", "")
        assert pyworkflow.get_result(first, timeout=30) == "done"
    finally:
        worker.stop()


def test_a_run_cancelled_while_it_waits_lets_its_place_go(rt: Any, log_dir: Path) -> None:
    import tests.flow_workflows  # noqa: F401

    key = f"cancel-{uuid.uuid4().hex[:6]}"
    worker = Worker(MODULE, log_dir, "flow-cancel", pool="threads", concurrency=4).start()
    try:
        holders = [pyworkflow.start("per_customer", key, 1.0) for _ in range(3)]
        wait_for(lambda: all(pyworkflow.get_workflow_run(r).status == "running"
                             for r in holders), 30, message="three runs to hold the slots")
        waiter = pyworkflow.start("per_customer", key, 0.0)
        wait_for(lambda: pyworkflow.get_workflow_run(waiter).waiting_for, 30,
                 message="the fourth to wait")
        info = pyworkflow.cancel_workflow(waiter, reason="not needed", wait=True, timeout=30)
        assert info.status == "cancelled"
        for run_id in holders:
            pyworkflow.get_result(run_id, timeout=30)
        prefix = rt.settings.key_prefix
        group = f"{prefix}:{{flow:workflow:per_customer:customer_id={key}}}"
        wait_for(lambda: rt.redis.zcard(f"{group}:holders") == 0, 30, message="slots let go")
        assert rt.redis.zcard(f"{group}:waiters") == 0
    finally:
        worker.stop()


def test_cancel_oldest_cancels_the_holder_and_the_newcomer_takes_its_slot(
        rt: Any, log_dir: Path) -> None:
    import tests.flow_workflows  # noqa: F401

    worker = Worker(MODULE, log_dir, "flow-oldest", pool="threads", concurrency=4).start()
    try:
        tag = uuid.uuid4().hex[:6]
        old = pyworkflow.start("newest_wins", tag, 60.0)
        wait_for(lambda: pyworkflow.get_workflow_run(old).status == "suspended", 30,
                 message="the first run to hold the slot, asleep")
        new = pyworkflow.start("newest_wins", tag, 0.1)
        ended = pyworkflow.wait_for_run(old, timeout=30)
        assert ended.status == "cancelled"
        assert pyworkflow.get_result(new, timeout=30) == tag
        assert [e["type"] for e in pyworkflow.get_workflow_events(new)][:2] == [
            "slot_waiting", "workflow_started"]
    finally:
        worker.stop()
