"""The timeline is a pure function of the journal: bars, attempts and waits."""

from __future__ import annotations

from typing import Any

from pyworkflow.web.timeline import build_timeline


def e(kind: str, ts: float, **data: Any) -> dict[str, Any]:
    return {"seq": 0, "type": kind, "timestamp": ts, "data": data}


def test_a_retried_step_shows_its_attempts_and_the_wait_between() -> None:
    tl = build_timeline([
        e("workflow_started", 0), e("step_scheduled", 1, call_id=1, step="charge"),
        e("step_failed", 2, call_id=1, will_retry=True),
        e("step_retrying", 5, call_id=1, attempt=2), e("step_completed", 6, call_id=1),
        e("workflow_completed", 7)], now=100)
    (bar,) = tl["bars"]
    assert (bar["label"], bar["start"], bar["end"], bar["state"]) == ("charge", 1, 6, "completed")
    assert [(s["kind"], s["start"], s["end"], s["state"]) for s in bar["segments"]] == [
        ("attempt", 1, 2, "failed"), ("retry_wait", 2, 5, "completed"),
        ("attempt", 5, 6, "completed")]
    assert (tl["start"], tl["end"]) == (0, 7)


def test_an_open_hook_is_drawn_up_to_now() -> None:
    tl = build_timeline([e("workflow_started", 0), e("hook_created", 1, call_id=1, name="ok",
                                                     token="t")], now=10)
    (bar,) = tl["bars"]
    assert (bar["kind"], bar["state"], bar["end"]) == ("hook", "running", 10)


def test_a_cancelled_sleep_ends_cancelled() -> None:
    tl = build_timeline([e("workflow_started", 0), e("sleep_started", 1, call_id=1,
                                                     wake_at_ms=61_000),
                         e("wait_cancelled", 3, call_id=1), e("workflow_cancelled", 4)], now=9)
    (bar,) = tl["bars"]
    assert (bar["state"], bar["end"], bar["label"]) == ("cancelled", 3, "sleep 60.0s")
