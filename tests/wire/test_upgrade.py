"""A worker of this version reads what the previous release wrote (a rolling upgrade).

``previous_release.json`` was written by the previous release's code (its commit is
in the file) running ``upgrade_workflows.up_main`` in its test environment: every
message it sent, every step task it dispatched, and the run's journal with the
messages still queued at five points. This version must decode all of them, replay
every journal, and go on from each point with the queued message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from actors import Event
from pyworkflow import wire
from pyworkflow.testing import WorkflowEnvironment, replay
from tests.engine.harness import Harness
from tests.wire import upgrade_workflows

WRITTEN = json.loads((Path(__file__).parent / "previous_release.json").read_text())


def test_every_message_and_step_task_of_the_previous_release_decodes() -> None:
    kinds = set()
    for message in WRITTEN["messages"]:
        wire.decode_message(message["kind"], message["payload"])
        kinds.add(message["kind"])
    assert {"start", "step-failed", "step-completed", "timer-fired", "signal",
            "child-completed"} <= kinds
    tasks = [wire.decode(wire.StepAttempt, task) for task in WRITTEN["step_tasks"]]
    assert [t.step for t in tasks[:2]] == ["up_refuse", "up_flaky"]


def test_its_fatal_error_is_still_fatal() -> None:
    failed = [wire.decode_message(m["kind"], m["payload"]) for m in WRITTEN["messages"]
              if m["kind"] == "step-failed"]
    assert [f.fatal for f in failed] == [True, False, False]  # up_refuse, then up_flaky


def _events(snapshot: dict[str, Any]) -> list[Event]:
    return [Event(e["seq"], e["type"], e["data"], e["ts"], e["msg_id"])
            for e in snapshot["events"]]


@pytest.mark.parametrize("snapshot", WRITTEN["snapshots"], ids=lambda s: s["label"])
def test_its_journal_replays_and_goes_on_with_its_queued_message(
        snapshot: dict[str, Any]) -> None:
    replay(snapshot["events"])  # the same commands, in the same order
    h = Harness(snapshot["run_id"])
    h.journal = _events(snapshot)
    h = h.rebuilt()
    before = len(h.journal)
    for queued in snapshot["queued"]:
        h.send(queued["kind"], **queued["payload"])
        assert len(h.journal) > before, f"{queued['kind']} changed nothing"
    expected_next = {"retry": "step_retrying", "sleep": "sleep_completed"}
    for queued in snapshot["queued"]:
        assert expected_next[queued["payload"]["purpose"]] in h.types()[before:]


def test_this_version_gives_what_the_previous_one_gave() -> None:
    with WorkflowEnvironment(start_time=1_800_000_000) as env:
        run = env.start(upgrade_workflows.up_main)
        env.advance("1.5s")
        env.advance("3s")
        env.advance("11m")
        env.send_signal(run.run_id, "go", {"ok": True})
        assert run.result() == WRITTEN["result"]
        old = [e["type"] for e in WRITTEN["snapshots"][-1]["events"]]
        assert [e["type"] for e in run.events()] == old
