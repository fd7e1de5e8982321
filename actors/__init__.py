"""A small, workflow-agnostic actor runtime on Celery, Kombu and Redis streams.

Vocabulary (one module each): ``message`` (what travels), ``event`` (what a turn
decided), ``effects`` (what happens after a commit), ``behaviour`` (what an actor does),
``mailbox`` (a Kombu queue per actor), ``journal`` (an append-only stream per actor),
``system`` (sending and activation), ``ownership`` (an actor's flag: begin and release),
``turn`` (one task that owns an actor, drains its mailbox and releases it), with the ways
it begins (``turn_begin``) and ends (``turn_end``), ``batch`` (one commit's worth of
messages), ``mailbox_reader`` with ``redis_list_reader`` and ``kombu_reader`` (how a turn
takes messages, per transport), ``stranded`` (what a dead turn left, put back),
``live_state`` and ``state_cache`` (the state a turn holds, and keeps for the next),
``outbox`` (effects committed, then dispatched), ``timers`` (durable, in Redis),
``recovery`` and ``maintenance`` (leases), ``log`` (structlog). The fast paths of a turn,
round trips saved, live apart in ``fast`` (``in_hand``, ``early_turn``,
``end_in_commit``, ``in_place``, ``end_in_place``, ``commit_riders``,
``conditional_writes``).
It knows nothing of workflows. Its data types (``message``, ``event``, ``effects``,
``behaviour``) import nothing that does I/O.
"""

import importlib
from typing import TYPE_CHECKING, Any

# The data types (pure: no I/O) load with the package; the machinery (Redis, Kombu,
# Celery) only when one of its names is first asked for, so a behaviour, or an engine
# behind one, can import ``actors`` without loading the clients (PEP 562).
from .behaviour import Behaviour, MessageRejected, TurnContext
from .effects import CancelTimer, Effect, EnqueueTask, Send, StartTimer
from .event import Event, NewEvent
from .fast.commit_riders import ride as ride_on_commit
from .message import MalformedMessage, Message
from .task_names import TURN_TASK_NAME

if TYPE_CHECKING:
    from .journal import Journal, LeaseLost, SequenceConflict
    from .system import ActorSystem, UnknownActor
    from .worker import install

_MACHINERY = {
    "Journal": "journal", "LeaseLost": "journal", "SequenceConflict": "journal",
    "ActorSystem": "system", "UnknownActor": "system",
    "install": "worker",
}

__all__ = [
    "ActorSystem", "Behaviour", "CancelTimer", "Effect", "EnqueueTask", "Event", "Journal",
    "LeaseLost", "MalformedMessage", "Message", "MessageRejected", "NewEvent", "Send",
    "SequenceConflict", "StartTimer", "TURN_TASK_NAME", "TurnContext", "UnknownActor", "install",
    "ride_on_commit",
]


def __getattr__(name: str) -> Any:
    module = _MACHINERY.get(name)
    if module is None:
        raise AttributeError(f"module 'actors' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
