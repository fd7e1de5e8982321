"""A small, workflow-agnostic actor runtime on Celery, Kombu and Redis streams.

Vocabulary (one module each): ``message`` (what travels), ``mailbox`` (a Kombu queue
per actor), ``journal`` (an append-only stream per actor), ``behaviour`` (what an
actor does), ``turn`` (one task that drains a mailbox), ``system`` (sending and
activation), ``effects`` (what happens after a commit), ``timers`` (durable, in
Redis), ``recovery`` and ``maintenance`` (leases), ``log`` (structlog).
It knows nothing of workflows.
"""

from .behaviour import Behaviour, MessageRejected, TurnContext
from .effects import CancelTimer, Effect, EnqueueTask, Send, StartTimer
from .journal import Event, Journal, LeaseLost, NewEvent, SequenceConflict
from .message import MalformedMessage, Message
from .system import ActorSystem, UnknownActor
from .worker import install

__all__ = [
    "ActorSystem", "Behaviour", "CancelTimer", "Effect", "EnqueueTask", "Event", "Journal",
    "LeaseLost", "MalformedMessage", "Message", "MessageRejected", "NewEvent", "Send",
    "SequenceConflict", "StartTimer", "TurnContext", "UnknownActor", "install",
]
