"""A small, workflow-agnostic actor runtime on Celery, Kombu and Redis streams.

Vocabulary (one module each): ``message`` (what travels), ``mailbox`` (a Kombu queue per
actor), ``journal`` (an append-only stream per actor), ``behaviour`` (what an actor
does), ``system`` (sending and activation), ``turn`` (one task that owns an actor,
drains its mailbox and releases it), ``batch`` (one commit's worth of messages),
``mailbox_reader`` with ``redis_list_reader`` and ``kombu_reader`` (how a turn takes
messages, per transport), ``in_hand`` (a message handled where it was produced),
``in_place`` (a task a task sends, kept and run right after it), ``early_turn`` (a turn
with a message in hand, decided on the cached state and begun and committed in one round
trip), ``stranded`` (what a dead turn left, put back), ``live_state`` (the state a turn
holds), ``outbox`` and ``effects`` (what happens after a commit), ``commit_riders`` (a
port's write sent with the next commit), ``timers`` (durable, in Redis), ``recovery``
and ``maintenance`` (leases), ``log`` (structlog).
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
