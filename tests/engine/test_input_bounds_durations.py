"""Issue 24: every duration is at most 100 years (``durations.MAX_DURATION_S``), checked
by the one parser; in workflow code a longer ``sleep`` or signal/hook ``timeout=``
raises ``ValueError`` where it is called, and nothing is journaled for it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from pyworkflow import events as ev
from pyworkflow import hook, sleep, wait_for_signal, workflow
from pyworkflow.durations import deadline_ms, parse_duration
from pyworkflow.engine import memory_ports
from tests.engine.harness import QUEUES, Harness

HUNDRED_YEARS_S = 100 * 365.25 * 86400


@pytest.mark.parametrize("value", [
    HUNDRED_YEARS_S + 1, int(HUNDRED_YEARS_S) + 1, "36526d", "5219w", 1e300, 10**400,
    10**5000, dt.timedelta(days=36526), dt.timedelta.max,
], ids=lambda v: type(v).__name__)
def test_a_duration_past_100_years_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="longer than the longest duration, 100 years") as exc:
        parse_duration(value)
    assert len(str(exc.value)) < 400  # never the whole of a huge number
    with pytest.raises(ValueError, match="100 years"):
        deadline_ms(value, 0)


@pytest.mark.parametrize("value", [HUNDRED_YEARS_S, "36525d", dt.timedelta(days=36525)])
def test_100_years_itself_is_a_duration(value: Any) -> None:
    assert parse_duration(value) == HUNDRED_YEARS_S
    assert deadline_ms(value, 5) == 5 + int(HUNDRED_YEARS_S) * 1000


def seen(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


@workflow(name="ibd_waits")
async def waits(seconds: float) -> list[str]:
    calls = [lambda: sleep(seconds), lambda: wait_for_signal("go", timeout=seconds),
             lambda: hook("h", timeout=seconds)]
    out = []
    for call in calls:
        try:
            await call()
        except ValueError as exc:
            out.append(seen(exc))
    return out


def test_a_wait_past_100_years_raises_in_the_workflow_code() -> None:
    h = Harness("run-ibd", memory_ports(queues=QUEUES))
    h.send("start", workflow="ibd_waits", args=[HUNDRED_YEARS_S + 1], kwargs={})
    assert h.record["status"] == "completed"
    result = json.loads(h.record["result"])
    assert len(result) == 3
    assert all(r.startswith("ValueError: ") and "100 years" in r for r in result)
    assert h.types() == [ev.WORKFLOW_STARTED, ev.WORKFLOW_COMPLETED]


def test_a_wait_of_100_years_is_taken() -> None:
    h = Harness("run-ibd-ok", memory_ports(queues=QUEUES))
    h.send("start", workflow="ibd_waits", args=[HUNDRED_YEARS_S], kwargs={})
    assert h.record["status"] == "suspended"
    assert h.types() == [ev.WORKFLOW_STARTED, ev.SLEEP_STARTED]
