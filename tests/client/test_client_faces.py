"""The two client faces, ``pyworkflow`` (sync) and ``pyworkflow.client.aio``, are one client.

Both drive the operations of ``pyworkflow.client.core``; these tests hold them to
it from the outside. The same sequence of calls (starts with and without an
idempotency key, values, signals, a cancel, a retry of a finished run, a listing)
goes through each face against a real Redis and a real worker, and what Redis
holds afterwards (the runs' records but for ids and times, the runs index, the
journals' event types, the key's holder) and what the calls return (values and
types) must be the same. A start costs the same round trips on both.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio.connection as async_connection
import redis.connection as sync_connection

import pyworkflow
from pyworkflow import keys
from pyworkflow.client import aio
from pyworkflow.run_info import RunId, RunInfo
from pyworkflow.worker import _runtime
from tests._workers import Worker, wait_for, worker_pool

MODULE = "tests.message_workflows"

#: Record fields that differ between two runs for reasons of their own (besides the
#: times, ``*_at``): the run's id and the app's key.
_VARYING = {"run_id", "idempotency_key"}


@pytest.fixture(scope="module")
def workers(rt, log_dir: Path) -> Iterator[list[Worker]]:  # type: ignore[no-untyped-def]
    with worker_pool(MODULE, log_dir, "faces", count=1, pool="prefork", concurrency=2) as pool:
        yield pool


class SyncFace:
    """The top-level functions, called as they are."""

    name = "sync"

    def __getattr__(self, name: str) -> Callable[..., Any]:
        return getattr(pyworkflow.client, name)  # type: ignore[no-any-return]

    def close(self) -> None:
        pass


class AioFace:
    """``pyworkflow.client.aio``'s functions, each awaited on one event loop (so one client)."""

    name = "aio"

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        call = getattr(aio, name)
        return lambda *args, **kwargs: self._loop.run_until_complete(call(*args, **kwargs))

    def close(self) -> None:
        self._loop.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def waiting(face: Any, run_id: str) -> None:
    """Until the run waits (a signal, a sleep): what happens next is up to the test."""
    wait_for(lambda: face.get_workflow_run(run_id).waiting_on, 30, 0.02,
             f"run {run_id} to wait")


def stored(run_id: str, names: dict[str, str]) -> dict[str, Any]:
    """What Redis holds for a run, with its own id and other runs' ids named by role."""
    rt = _runtime.runtime()
    k = rt.system.actor_keys(run_id)
    record = {}
    for field, raw in rt.redis.hgetall(k.record).items():
        if field.decode() in _VARYING or field.decode().endswith("_at"):
            continue
        text = raw.decode()
        for rid, role in names.items():
            text = text.replace(rid, f"<{role}>")
        record[field.decode()] = text
    journal = [e.type for e in rt.system.journal(run_id).read()]
    indexed = rt.redis.zscore(keys.runs_index(rt.settings.key_prefix), run_id) is not None
    return {"record": record, "journal": journal, "indexed": indexed}


def the_sequence(face: Any) -> dict[str, Any]:
    """The calls, in order; returns what each returned (values and types) and what
    Redis holds after them."""
    seen: dict[str, Any] = {}
    key = unique("faces")
    pub = face.start("publisher", "o-1")
    keyed = face.start("signal_collector", 1, idempotency_key=key)
    seen["same key, same run"] = face.start("signal_collector", 1, idempotency_key=key) == keyed
    seen["progress"] = face.get_value(pub, "progress", timeout=30)
    waiting(face, pub)
    waiting(face, keyed)
    seen["values"] = face.get_values(pub)
    signal_id = face.send_signal(pub, "go")
    seen["signal id"] = (type(signal_id), signal_id.startswith("signal:"))
    face.send_signal(keyed, "item", {"n": 1})
    seen["final"] = face.get_value(pub, "final", timeout=30)
    seen["results"] = [face.get_result(pub, timeout=30), face.get_result(keyed, timeout=30)]
    seen["finished key, same run"] = face.start("signal_collector", 1,
                                                idempotency_key=key) == keyed
    napping = face.start("late_waiter", "60s")
    waiting(face, napping)
    cancelled = face.cancel_workflow(napping, reason="faces", wait=True, timeout=30)
    retried = face.retry_run(pub)  # a finished run: returned as it is
    listed = face.list_workflow_runs(workflow="publisher", limit=10)
    events = face.get_workflow_events(pub)
    seen["types"] = [type(x) for x in (pub, keyed, napping, cancelled, retried, listed,
                                       events, seen["values"])]
    seen["statuses"] = [cancelled.status, retried.status]
    seen["listed"] = pub in {info.run_id for info in listed}
    seen["events"] = [e["type"] for e in events]
    names = {pub: "publisher", keyed: "keyed", napping: "napping"}
    seen["stored"] = {role: stored(rid, names) for rid, role in names.items()}
    rt = _runtime.runtime()
    seen["key holder"] = names.get(
        (rt.redis.get(keys.idempotency_key(rt.settings.key_prefix, key)) or b"").decode())
    return seen


def test_the_same_calls_leave_the_same_state(workers: list[Worker]) -> None:
    observed = {}
    for face in (SyncFace(), AioFace()):
        try:
            seen = observed[face.name] = the_sequence(face)
        finally:
            face.close()
        assert seen["same key, same run"] and seen["finished key, same run"], face.name
        assert seen["progress"] == {"order_id": "o-1", "done": 1}
        assert seen["values"] == {"progress": {"order_id": "o-1", "done": 1}}
        assert seen["final"] == "shipped o-1"
        assert seen["results"] == ["ok", [{"n": 1}]]
        assert seen["statuses"] == ["cancelled", "completed"]
        assert seen["types"][:5] == [RunId] * 3 + [RunInfo] * 2, face.name
        assert seen["key holder"] == "keyed" and seen["listed"]
        assert seen["stored"]["napping"]["journal"][-1] == "workflow_cancelled"
    assert observed["sync"] == observed["aio"]


class Sends:
    """Every command or pipeline this process sends to Redis (both clients, and the
    broker's publishes: the broker is the same Redis here)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        for module in (sync_connection, async_connection):
            self._count_on(module.AbstractConnection, monkeypatch)

    def _count_on(self, cls: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        real = cls.send_packed_command

        def counted(conn: Any, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return real(conn, *args, **kwargs)

        monkeypatch.setattr(cls, "send_packed_command", counted)


def test_a_start_costs_the_same_round_trips_on_both_faces(
        workers: list[Worker], round_trips: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    sends = Sends(monkeypatch)
    cost: dict[str, dict[str, tuple[int, int]]] = {}
    for face in (SyncFace(), AioFace()):
        face.start("signal_collector", 1, idempotency_key=unique("warm"))  # connect, load
        cost[face.name] = {}
        for kind in ("plain", "keyed"):
            key = unique("cost") if kind == "keyed" else None
            sends.count = round_trips[0] = 0
            face.start("signal_collector", 1, idempotency_key=key)
            cost[face.name][kind] = (sends.count, round_trips[0])
        face.close()
    print(f"sends to Redis and pipelines per start: {cost}")
    assert cost["sync"] == cost["aio"]
    # The start in hand: one pipeline (record, index, hand-over) and the turn's
    # publish; a key adds the record's write and the claim before it.
    assert cost["sync"] == {"plain": (2, 1), "keyed": (4, 1)}
