"""Sealing waits while its process wakes timers (``Compactor.defer``).

A burst of wake-ups is late work; sealing the runs it ends took a share of the CPU the
burst needed. A timer runner's pass that finds timers defers the process's sealing; a
deferred note still waits at most ``MAX_DEFER_S``. No Redis: ``seal`` is counted.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import pytest

from actors import Message, compaction
from actors.compaction import Compactor
from actors.timer_runner import TimerRunner


@pytest.fixture
def sealed(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, int]]:
    calls: list[dict[str, int]] = []

    def seal(system: Any, actors: dict[str, int]) -> int:
        calls.append(dict(actors))
        return len(actors)

    monkeypatch.setattr(compaction, "seal", seal)
    return calls


def compactor_with_notes(monkeypatch: pytest.MonkeyPatch, *actor_ids: str) -> Compactor:
    c = Compactor(system=None)  # type: ignore[arg-type]
    monkeypatch.setattr(c, "_thread", object())  # noted without starting the thread
    monkeypatch.setattr(c, "_pid", os.getpid())
    for actor_id in actor_ids:
        c.note(actor_id)
    return c


def test_a_deferred_background_pass_seals_nothing_and_keeps_the_notes(
        sealed: list[dict[str, int]], monkeypatch: pytest.MonkeyPatch) -> None:
    c = compactor_with_notes(monkeypatch, "a", "b")
    c.defer(60)
    assert c.flush(0, background=True) == 0 and sealed == []
    assert c.flush(0) == 2  # a flush asked for (not in the background) seals anyway
    assert [sorted(batch) for batch in sealed] == [["a", "b"]]


def test_a_note_deferred_past_the_longest_deferral_is_sealed(
        sealed: list[dict[str, int]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compaction, "MAX_DEFER_S", 0.0)
    c = compactor_with_notes(monkeypatch, "a")
    c.defer(60)
    assert c.flush(0, background=True) == 1


@pytest.mark.redis
def test_a_runner_pass_that_finds_timers_defers_sealing(rt: Any, captured_tasks: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner's side: ``run_due`` with a due timer defers its process's sealing."""
    system = rt.system
    deferred: list[float] = []
    monkeypatch.setattr(system.compactor, "defer", lambda seconds=0.5: deferred.append(seconds))
    tid = f"t-{uuid.uuid4().hex}"
    system.timers.schedule_at(tid, int(time.time() * 1000) - 5,
                              Message(kind="ring", actor_id=f"alarm-{tid}", payload={}))
    try:
        TimerRunner(system, keep=lambda queue: False).run_due()
        assert deferred
    finally:
        system.timers.cancel(tid)

