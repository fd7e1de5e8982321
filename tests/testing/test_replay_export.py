"""``pyworkflow.testing.replay``: an exported journal replays clean, and a code change
that would break it raises ``NonDeterminismError`` naming the position."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pyworkflow import NonDeterminismError, sleep, step, workflow
from pyworkflow.testing import WorkflowEnvironment, replay, replay_folder


@step()
async def greet(name: str) -> str:
    return f"hello {name}"


@workflow(name="export_flow")
async def original(name: str) -> str:
    first = await greet(name)
    await sleep("1h")
    return first + "!"


def _export(tmp_path: Path) -> Path:
    with WorkflowEnvironment() as env:
        h = env.start(original, "ada")
        path = tmp_path / "run.json"
        path.write_text(json.dumps(env.events(h.run_id)))  # still sleeping: in flight
    return path


def test_an_exported_journal_replays_clean_then_breaks_after_a_change(tmp_path: Path) -> None:
    path = _export(tmp_path)
    replay(path)
    assert replay_folder(tmp_path) == [path]

    @workflow(name="export_flow")
    async def changed(name: str) -> str:
        await sleep("1m")  # a new command before the recorded step
        return await greet(name)

    try:
        with pytest.raises(NonDeterminismError, match="#1") as found:
            replay(path)
        assert found.value.position == 1
        with pytest.raises(NonDeterminismError, match="run.json"):
            replay_folder(tmp_path)
    finally:
        workflow(name="export_flow")(original)
