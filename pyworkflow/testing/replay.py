"""Replay testing for CI: does today's code still replay a recorded run?

``pyworkflow runs export RUN_ID > run.json`` writes a run's journal (the JSON list
``runs logs --output json`` prints); ``replay(path_or_events)`` replays it through
the engine against the workflow code imported now, and raises
``NonDeterminismError`` naming the position, the recorded command and the one the
code now issues. ``replay_folder`` does it for every ``*.json`` in a folder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from actors.journal import Event

from ..errors import NonDeterminismError, WorkflowNotFoundError
from ..local.determinism_check import replay_divergence


def _events(history: str | Path | Sequence[dict[str, Any]] | Sequence[Event]) -> list[Event]:
    items: Sequence[Any]
    if isinstance(history, (str, Path)):
        loaded = json.loads(Path(history).read_text())
        items = loaded["events"] if isinstance(loaded, dict) else loaded
    else:
        items = history
    out: list[Event] = []
    for item in items:
        if isinstance(item, Event):
            out.append(item)
        else:
            out.append(Event(int(item["seq"]), item["type"], item.get("data", {}),
                             float(item.get("timestamp", 0.0)), item.get("msg_id")))
    return out


def replay(history: str | Path | Sequence[dict[str, Any]] | Sequence[Event],
           run_id: str = "run-replayed") -> None:
    """Replay an exported journal against the code imported now; raise on divergence."""
    events = _events(history)
    started = next((e for e in events if e.type == "workflow_started"), None)
    workflow = started.data.get("workflow", "?") if started else "?"
    found = replay_divergence(run_id, workflow, "replayed", events, set())
    if found is None:
        return
    if found.position is None:
        raise WorkflowNotFoundError(workflow)
    raise NonDeterminismError(found.position, found.recorded, found.issued)


def replay_folder(folder: str | Path, pattern: str = "*.json") -> list[Path]:
    """Replay every exported journal in ``folder``; the files replayed (raises on the
    first divergence, naming the file)."""
    done: list[Path] = []
    for path in sorted(Path(folder).glob(pattern)):
        try:
            replay(path, run_id=f"run-{path.stem}")
        except (NonDeterminismError, WorkflowNotFoundError) as exc:
            exc.args = (f"{path.name}: {exc.args[0] if exc.args else exc}",)
            raise
        done.append(path)
    return done

