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
It knows nothing of workflows.
"""

from .behaviour import Behaviour, MessageRejected, TurnContext
from .commit_riders import ride as ride_on_commit
from .effects import CancelTimer, Effect, EnqueueTask, Send, StartTimer
from .journal import Event, Journal, LeaseLost, NewEvent, SequenceConflict
from .message import MalformedMessage, Message
from .system import TURN_TASK_NAME, ActorSystem, UnknownActor
from .worker import install

__all__ = [
    "ActorSystem", "Behaviour", "CancelTimer", "Effect", "EnqueueTask", "Event", "Journal",
    "LeaseLost", "MalformedMessage", "Message", "MessageRejected", "NewEvent", "Send",
    "SequenceConflict", "StartTimer", "TURN_TASK_NAME", "TurnContext", "UnknownActor", "install",
    "ride_on_commit",
]
