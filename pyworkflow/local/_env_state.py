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

What is read back is checked first (``check_state``, ``event_from_json``,
``check_journals``): a saved state is data from outside this process (another
version, a stale writer, a hand edit), and a malformed one must be refused with
what is wrong (:class:`MalformedState`), not fail half-way through a restore.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

from actors.journal import Event
from actors.message import MalformedMessage, Message

from .. import wire
from ..engine.ports import MemoryHook

if TYPE_CHECKING:
    from .environment import WorkflowEnvironment

#: Bumped when the shape below changes; a saved state of another version is refused.
#: (``idempotency_keys`` was added without a bump: a state without it reads as none.)
STATE_VERSION = 1

#: The state's fields and the JSON type each must have.
_FIELDS: dict[str, type] = {"records": dict, "mailbox": list, "steps": list, "timers": list,
                            "timer_order": int, "hooks": dict, "seen": dict,
                            "dead_letters": list, "runs": dict}


class MalformedState(ValueError):
    """A saved state (or its journal) that cannot be restored; the message says what
    is wrong, in words fit to follow "cannot be resumed: "."""


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
        "idempotency_keys": env.idempotency_keys,
    }


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def check_state(state: Any) -> None:
    """Raise :class:`MalformedState` naming the first thing ``state`` gets wrong in
    its shape (what ``restore`` reads); a state that passes restores."""
    if not isinstance(state, dict):
        raise MalformedState(f"its state is a JSON {_kind(state)}, not an object")
    if state.get("version") != STATE_VERSION:
        raise MalformedState(f"its state has version {state.get('version')!r}; this "
                             f"pyworkflow reads version {STATE_VERSION}")
    for name, kind in _FIELDS.items():
        if name not in state:
            raise MalformedState(f"its state has no {name!r}")
        value = state[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise MalformedState(f"its state's {name!r} is a {_kind(value)}, not a "
                                 f"{kind.__name__}")
    for run_id, record in state["records"].items():
        if not isinstance(record, dict) or not all(isinstance(v, str) for v in record.values()):
            raise MalformedState(f"its record of run {run_id} is not a map of strings")
    for index, raw in enumerate(state["mailbox"], 1):
        _message(raw, f"message {index} of its mailbox")
    for index, job in enumerate(state["steps"], 1):
        try:
            wire.decode(wire.StepAttempt, job)
        except wire.WireError as exc:
            raise MalformedState(f"pending step attempt {index} is malformed: {exc}") from None
    for index, timer in enumerate(state["timers"], 1):
        if not (isinstance(timer, list) and len(timer) == 4 and isinstance(timer[0], int)
                and isinstance(timer[1], int) and isinstance(timer[2], str)):
            raise MalformedState(f"timer {index} is not [due ms, order, timer id, message]")
        _message(timer[3], f"the message of timer {timer[2]}")
    for run_id, ids in state["seen"].items():
        if not isinstance(ids, list):
            raise MalformedState(f"its handled message ids of run {run_id} are not a list")
    for token, fields in state["hooks"].items():
        if not isinstance(fields, dict):
            raise MalformedState(f"its hook {token} is a {_kind(fields)}, not an object")
    for index, item in enumerate(state["dead_letters"], 1):
        if not (isinstance(item, list) and len(item) == 2):
            raise MalformedState(f"dead letter {index} is not [message, reason]")
        _message(item[0], f"dead letter {index}")
    for name in ("indexed", "expiries", "masks"):
        if not isinstance(state["runs"].get(name), dict):
            raise MalformedState(f"its state's runs have no {name!r} map")
    if not isinstance(state.get("idempotency_keys", {}), dict):
        raise MalformedState("its state's 'idempotency_keys' is not a map")


def _message(raw: Any, what: str) -> None:
    if not isinstance(raw, str):
        raise MalformedState(f"{what} is a {_kind(raw)}, not an encoded message")
    try:
        Message.decode(raw)
    except MalformedMessage as exc:
        raise MalformedState(f"{what} is malformed: {exc}") from None


def check_journals(state: dict[str, Any], journals: dict[str, list[Event]]) -> None:
    """Each journal's events run 1, 2, 3... and belong to a run the state has a record
    of: a journal and a state that no longer match (written by two processes) are
    refused here rather than replayed into a wrong run."""
    for run_id, journal in journals.items():
        if run_id not in state["records"]:
            raise MalformedState(f"its journal has events of run {run_id}, which its "
                                 "state has no record of")
        for expected, event in enumerate(journal, 1):
            if event.seq != expected:
                raise MalformedState(f"the journal of run {run_id} has event seq "
                                     f"{event.seq} where {expected} was expected (its "
                                     "events and state no longer match)")


def restore(env: WorkflowEnvironment, state: dict[str, Any],
            journals: dict[str, list[Event]]) -> None:
    """Put a captured state and its journals back into a fresh environment (raises
    :class:`MalformedState` for a state ``check_state`` would refuse, or whose hooks
    do not fit)."""
    check_state(state)
    try:
        hooks = {token: MemoryHook(**fields) for token, fields in state["hooks"].items()}
    except TypeError as exc:
        raise MalformedState(f"a hook in its state does not fit ({exc})") from None
    env.journals = journals
    env.records = {run_id: dict(record) for run_id, record in state["records"].items()}
    env._mailbox.extend(Message.decode(raw) for raw in state["mailbox"])
    env._steps.extend(state["steps"])
    for due_ms, order, timer_id, raw in state["timers"]:
        env._timer_messages[timer_id] = (order, Message.decode(raw))
        heapq.heappush(env._timers, (due_ms, order, timer_id))
    env._timer_order = state["timer_order"]
    env.hook_store.hooks = hooks
    for run_id, ids in state["seen"].items():
        env._seen[run_id] = set(ids)
    env.dead_letters = [(Message.decode(raw), reason) for raw, reason in state["dead_letters"]]
    runs = state["runs"]
    env.runs_store.indexed = dict(runs["indexed"])
    env.runs_store.expiries = dict(runs["expiries"])
    env.runs_store.masks = {k: set(v) for k, v in runs["masks"].items()}
    env.idempotency_keys = dict(state.get("idempotency_keys", {}))
    env._states.clear()


def event_to_json(run_id: str, event: Event) -> list[Any]:
    return [run_id, event.to_dict()]


def event_from_json(item: Any, index: int = 0) -> tuple[str, Event]:
    """One saved journal event (``index``, from 1, names it in the error)."""
    what = f"event {index} of its journal" if index else "a journal event"
    if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
            and isinstance(item[1], dict)):
        raise MalformedState(f"{what} is not [run id, event]")
    run_id, data = item
    for name, kinds in (("seq", int), ("type", str), ("data", dict), ("ts", (int, float)),
                        ("msg_id", (str, type(None)))):
        if name not in data:
            raise MalformedState(f"{what} (run {run_id}) has no {name!r}")
        if not isinstance(data[name], kinds) or isinstance(data[name], bool):
            raise MalformedState(f"{what} (run {run_id}) has a {_kind(data[name])} "
                                 f"{name!r}")
    return run_id, Event(data["seq"], data["type"], data["data"], data["ts"], data["msg_id"])
