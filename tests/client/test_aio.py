"""``pyworkflow.client.aio``: the client for async apps never stalls the event loop.

Real workers and a real Redis. A ticker task measures the loop's responsiveness
while runs are awaited; waits are woken by the run's journal, so they return
within milliseconds of the run's end (the record's ``finished_at``, written by
the worker in the committing turn, on the same machine's clock).
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pyworkflow
from pyworkflow import events as ev
from pyworkflow import keys
from pyworkflow.client import aio
from pyworkflow.worker import _runtime
from tests._workers import Worker, worker_pool

MODULE = "tests.client_workflows"


@pytest.fixture(scope="module")
def workers(rt, log_dir: Path) -> Iterator[list[Worker]]:  # type: ignore[no-untyped-def]
    with worker_pool(MODULE, log_dir, "aio", count=1, pool="prefork", concurrency=2) as pool:
        yield pool


class Ticker:
    """Ticks every 10 ms and records the largest gap between two ticks."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.ticks = 0
        self._stop = False

    async def run(self) -> None:
        last = time.monotonic()
        while not self._stop:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            self.worst = max(self.worst, now - last)
            self.ticks += 1
            last = now

    def stop(self) -> None:
        self._stop = True


# serial: it measures the event loop's stalls, which other tests' load would add to
@pytest.mark.serial
def test_awaiting_five_runs_never_stalls_the_loop(workers: list[Worker]) -> None:
    async def main() -> tuple[list[int], Ticker]:
        ticker = Ticker()
        tick_task = asyncio.create_task(ticker.run())
        run_ids = await asyncio.gather(*(aio.start("client_napping", 1.0, i) for i in range(5)))
        results = await asyncio.gather(*(aio.get_result(r, timeout=30) for r in run_ids))
        ticker.stop()
        await tick_task
        return results, ticker

    results, ticker = asyncio.run(main())
    assert results == [0, 2, 4, 6, 8]
    assert ticker.ticks > 50  # the loop kept running for the whole second of sleeping
    assert ticker.worst < 0.1, f"the event loop stalled for {ticker.worst * 1000:.0f} ms"


def test_gather_works_over_every_client_call(workers: list[Worker]) -> None:
    async def main() -> None:
        a, b = await asyncio.gather(aio.start("client_quick", 1), aio.start("client_quick", 2))
        infos = await asyncio.gather(aio.wait_for_run(a, 30), aio.wait_for_run(b, 30))
        assert [i.result for i in infos] == [2, 4]
        again, events, listed = await asyncio.gather(
            aio.get_workflow_run(a), aio.get_workflow_events(b),
            aio.list_workflow_runs(workflow="client_quick", limit=5))
        assert again.status == "completed"
        assert events[-1]["type"] == ev.WORKFLOW_COMPLETED
        assert {a, b} <= {i.run_id for i in listed}
        # The top-level (sync) values can be awaited and gathered too: they used to
        # raise TypeError: unhashable type: 'RunInfo'.
        # (typed as plain values: awaitable at run time only)
        top = await asyncio.gather(  # type: ignore[call-overload]
            pyworkflow.get_workflow_run(a), pyworkflow.get_workflow_run(b),
            pyworkflow.get_workflow_events(a))
        assert [top[0].result, top[1].result] == [2, 4]
        assert top[2][0]["type"] == ev.WORKFLOW_STARTED

    asyncio.run(main())


# serial: it measures a latency, which other tests' load would add to
@pytest.mark.serial
def test_a_wait_returns_within_50_ms_of_the_runs_end(workers: list[Worker]) -> None:
    async def one() -> float:
        run_id = await aio.start("client_napping", 0.5, 1)
        info = await aio.wait_for_run(run_id, timeout=30)
        returned = time.time()
        assert info.status == "completed" and info.finished_at is not None
        return returned - info.finished_at

    async def main() -> list[float]:
        return [await one() for _ in range(5)]

    lags = asyncio.run(main())
    print(f"aio wait lag after the run's end: median {statistics.median(lags) * 1000:.1f} ms, "
          f"max {max(lags) * 1000:.1f} ms")
    assert statistics.median(lags) < 0.05, lags


# serial: it measures a latency, which other tests' load would add to
@pytest.mark.serial
def test_sync_wait_lag_is_small_too(workers: list[Worker]) -> None:
    run_id = pyworkflow.start("client_napping", 0.5, 3)
    info = pyworkflow.wait_for_run(run_id, timeout=30)
    assert info.result == 6 and info.finished_at is not None
    assert time.time() - info.finished_at < 0.5


# serial: it measures the event loop's stalls, which other tests' load would add to
@pytest.mark.serial
def test_a_top_level_wait_inside_a_loop_does_not_block_it(workers: list[Worker]) -> None:
    async def main() -> tuple[int, Ticker]:
        ticker = Ticker()
        tick_task = asyncio.create_task(ticker.run())
        run_id = pyworkflow.start("client_napping", 1.0, 4)
        pending = pyworkflow.get_result(run_id, timeout=30)
        with pytest.raises(TypeError, match="pyworkflow.aio"):
            pending.status  # noqa: B018  (used without await: a clear error, not a stall)
        result = await pending
        ticker.stop()
        await tick_task
        return result, ticker

    result, ticker = asyncio.run(main())
    assert result == 8
    assert ticker.worst < 0.1, f"the event loop stalled for {ticker.worst * 1000:.0f} ms"


def test_aio_errors_match_the_sync_client(workers: list[Worker]) -> None:
    async def main() -> None:
        with pytest.raises(pyworkflow.RunNotFoundError):
            await aio.get_workflow_run("run-doesnotexist")
        with pytest.raises(ValueError, match="limit"):
            await aio.list_workflow_runs(limit=0)
        with pytest.raises(TypeError, match="client_quick"):
            await aio.start("client_quick")  # missing argument: nothing is written
        run_id = await aio.start("client_napping", 30, 1)
        with pytest.raises(TimeoutError):
            await aio.wait_for_run(run_id, timeout=0.2)
        info = await aio.cancel_workflow(run_id, wait=True, timeout=30)
        assert info.status == "cancelled"

    asyncio.run(main())


class HeldHandOver:
    """The actor system's hand-over, made to wait (in its thread) until released; it
    then goes through, or raises when ``fail``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail: bool) -> None:
        system = _runtime.runtime().system
        real = system.deliver_held
        self.entered, self.release = threading.Event(), threading.Event()
        self.run_ids: list[str] = []

        def held(message: Any, *args: Any, **kwargs: Any) -> None:
            self.run_ids.append(message.actor_id)
            self.entered.set()
            assert self.release.wait(30), "the test never released the hand-over"
            if fail:
                raise ConnectionError("broker down (test)")
            real(message, *args, **kwargs)

        monkeypatch.setattr(system, "deliver_held", held)

    def cancel_a_start(self) -> BaseException:
        """Cancels an ``aio.start`` while its hand-over runs; returns what the awaiting
        caller got."""

        async def main() -> BaseException:
            task = asyncio.create_task(aio.start("client_quick", 5))
            deadline = time.monotonic() + 30
            while not self.entered.is_set():
                assert time.monotonic() < deadline, "the hand-over never started"
                await asyncio.sleep(0.005)
            task.cancel()
            await asyncio.sleep(0.05)  # the cancel is put off, not lost: still running
            assert not task.done()
            self.release.set()
            try:
                await task
            except BaseException as exc:  # noqa: BLE001  (what the caller gets)
                return exc
            raise AssertionError("a cancelled start returned")

        return asyncio.run(main())


def test_a_start_cancelled_during_its_hand_over_keeps_the_run(
        workers: list[Worker], monkeypatch: pytest.MonkeyPatch) -> None:
    """The hand-over went through: the run is started (not undone under it), and the
    caller still gets its cancellation."""
    hand_over = HeldHandOver(monkeypatch, fail=False)
    got = hand_over.cancel_a_start()
    assert isinstance(got, asyncio.CancelledError)
    assert pyworkflow.get_result(hand_over.run_ids[0], timeout=30) == 10


def test_a_start_cancelled_during_a_failing_hand_over_is_undone(
        workers: list[Worker], monkeypatch: pytest.MonkeyPatch) -> None:
    hand_over = HeldHandOver(monkeypatch, fail=True)
    got = hand_over.cancel_a_start()
    run_id = hand_over.run_ids[0]
    assert isinstance(got, asyncio.CancelledError)
    assert isinstance(got.__cause__, ConnectionError)
    rt = _runtime.runtime()
    assert not rt.redis.exists(rt.system.actor_keys(run_id).record)
    assert rt.redis.zscore(keys.runs_index(rt.settings.key_prefix), run_id) is None
