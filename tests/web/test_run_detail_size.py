"""The run page's answer is bounded, however large the run's journal (issue 24).

The page polls ``/api/runs/<id>`` every two seconds per open tab; it used to read and
send the whole journal (150 signals of 1 MB made a 157 MB answer). The run here is
written straight into Redis, in the shape a worker writes (the record hash, and the
journal stream with one ``e`` entry per event at id ``<seq>-0``): no worker needed.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from actors.journal import NewEvent
from pyworkflow import events as ev
from pyworkflow.web import create_app
from pyworkflow.web.run_detail import EVENTS_SHOWN, READ_BUDGET_BYTES, VALUE_CHARS
from pyworkflow.worker import _runtime
from tests.web.conftest import LOCAL

SMALL, LARGE, MB = 3_000, 60, 1024 * 1024


@pytest.fixture()
def flooded_run(rt: _runtime.Runtime) -> Iterator[str]:
    """A run waiting for ``go`` that received 3,000 small signals, then 60 of 1 MB."""
    run_id = f"run-size{uuid.uuid4().hex[:12]}"
    keys = rt.system.actor_keys(run_id)
    now = time.time()
    rt.redis.hset(keys.record, mapping={
        "workflow": "size_waiter", "status": "suspended", "created_at": repr(now),
        "started_at": repr(now), "updated_at": repr(now), "args": "[]", "kwargs": "{}",
        "waiting_on": json.dumps(["signal go"])})
    events = [NewEvent(ev.WORKFLOW_STARTED, {"workflow": "size_waiter", "args": [],
                                             "kwargs": {}}, ts=now),
              NewEvent(ev.SIGNAL_WAIT_STARTED, {"call_id": 1, "name": "go", "timeout_s": None,
                                                "expires_at_ms": None, "shielded": False},
                       ts=now)]
    for i in range(SMALL + LARGE):
        payload = "x" * MB if i >= SMALL else i
        events.append(NewEvent(ev.SIGNAL_RECEIVED, {"name": f"noise-{i % 50}",
                                                    "payload": payload, "seq": i + 3,
                                                    "signal_id": f"signal:{i}"}, ts=now))
    pipe = rt.redis.pipeline(transaction=False)
    for seq, event in enumerate(events, start=1):
        pipe.xadd(keys.journal, {"e": event.encode()}, id=f"{seq}-0")
        if len(pipe) >= 500:
            pipe.execute()
    pipe.execute()
    yield run_id
    rt.redis.delete(keys.record, keys.journal)


def test_a_journal_of_large_signals_gives_a_bounded_answer(flooded_run: str) -> None:
    client = TestClient(create_app(), base_url=LOCAL)
    started = time.monotonic()
    resp = client.get(f"/api/runs/{flooded_run}")
    took = time.monotonic() - started
    assert resp.status_code == 200, resp.text[:500]
    size = len(resp.content)
    body: dict[str, Any] = resp.json()
    total = SMALL + LARGE + 2
    assert body["events_total"] == total
    shown = body["events"]
    assert 0 < len(shown) <= EVENTS_SHOWN
    assert shown[-1]["seq"] == total  # the newest, in order
    assert [e["seq"] for e in shown] == list(range(total - len(shown) + 1, total + 1))
    big = shown[-1]["data"]["payload"]
    assert big["$truncated"] == MB and len(big["preview"]) < VALUE_CHARS
    assert size < 2 * MB, f"the answer is {size} bytes"
    assert body["timeline"]["truncated"] is True
    assert body["timeline"]["events"] == len(shown)
    print(f"answer {size} bytes, {len(shown)} of {total} events, {took:.2f}s; "
          f"read budget {READ_BUDGET_BYTES}")


def test_small_events_fill_the_page_up_to_its_count(rt: _runtime.Runtime,
                                                    flooded_run: str) -> None:
    keys = rt.system.actor_keys(flooded_run)
    last = rt.redis.xrevrange(keys.journal, "+", "-", count=LARGE)
    rt.redis.xdel(keys.journal, *[eid for eid, _ in last])  # only the small ones left
    body = TestClient(create_app(), base_url=LOCAL).get(f"/api/runs/{flooded_run}").json()
    assert len(body["events"]) == EVENTS_SHOWN and body["events_total"] == SMALL + 2
    assert body["events"][-1]["data"]["payload"] == SMALL - 1  # small values shown whole
