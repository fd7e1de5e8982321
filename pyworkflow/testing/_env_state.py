"""A ``WorkflowEnvironment``'s state as plain JSON data, and back.

The local runtime saves it after every turn and step attempt so that a run stopped
by Ctrl-C (or a killed process) continues where it stopped (``--resume``). The
journals are not part of it: they only grow, so ``LocalJournal`` appends their new
events instead of rewriting them. What is here is what changes in place: run
records, the mailbox, pending step attempts, live timers, hooks, the ids of handled
messages (a redelivered one is skipped, as on a worker) and dead letters. A run's
engine state is not saved: it is rebuilt from the journal, as a worker rebuilds it.

These functions read and write the environment's private fields: they are the
environment's own persistence, kept apart so ``environment.py`` stays about running.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

from actors.journal import Event
from actors.message import Message

from ..engine.ports import MemoryHook

if TYPE_CHECKING:
    from .environment import WorkflowEnvironment

#: Bumped when the shape below changes; a saved state of another version is refused.
STATE_VERSION = 1


def capture(env: WorkflowEnvironment) -> dict[str, Any]:
    """Everything but the journals, as JSON-ready data."""
    timers = [[due_ms, order, timer_id, env._timer_messages[timer_id][1].encode()]
              for due_ms, order, timer_id in env._timers
              if env._timer_messages.get(timer_id, (None,))[0] == order]
    return {
        "version": STATE_VERSION,
        "records": env.records,
        "mailbox": [m.encode() for m in env._mailbox],
        "steps": list(env._steps),
        "timers": timers,
        "timer_order": env._timer_order,
        "hooks": {token: vars(hook) for token, hook in env.hook_store.hooks.items()},
        "seen": {run_id: sorted(ids) for run_id, ids in env._seen.items()},
        "dead_letters": [[m.encode(), reason] for m, reason in env.dead_letters],
        "runs": {"indexed": env.runs_store.indexed, "expiries": env.runs_store.expiries,
                 "masks": {k: sorted(v) for k, v in env.runs_store.masks.items()}},
    }


def restore(env: WorkflowEnvironment, state: dict[str, Any],
            journals: dict[str, list[Event]]) -> None:
    """Put a captured state and its journals back into a fresh environment."""
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"saved local run state has version {state.get('version')!r}; "
                         f"this pyworkflow reads version {STATE_VERSION}")
    env.journals = journals
    env.records = {run_id: dict(record) for run_id, record in state["records"].items()}
    env._mailbox.extend(Message.decode(raw) for raw in state["mailbox"])
    env._steps.extend(state["steps"])
    for due_ms, order, timer_id, raw in state["timers"]:
        env._timer_messages[timer_id] = (order, Message.decode(raw))
        heapq.heappush(env._timers, (due_ms, order, timer_id))
    env._timer_order = state["timer_order"]
    env.hook_store.hooks = {token: MemoryHook(**fields)
                            for token, fields in state["hooks"].items()}
    for run_id, ids in state["seen"].items():
        env._seen[run_id] = set(ids)
    env.dead_letters = [(Message.decode(raw), reason) for raw, reason in state["dead_letters"]]
    runs = state["runs"]
    env.runs_store.indexed = dict(runs["indexed"])
    env.runs_store.expiries = dict(runs["expiries"])
    env.runs_store.masks = {k: set(v) for k, v in runs["masks"].items()}
    env._states.clear()


def event_to_json(run_id: str, event: Event) -> list[Any]:
    return [run_id, event.to_dict()]


def event_from_json(item: list[Any]) -> tuple[str, Event]:
    run_id, data = item
    return run_id, Event(data["seq"], data["type"], data["data"], data["ts"], data["msg_id"])
