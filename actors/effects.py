"""Effects: what a turn asks the outside world to do once its events are committed.

A turn never acts before its commit. It records effects in the actor's outbox in
the same atomic step as its events, dispatches them after, and deletes each one
once dispatched; whatever a dead turn left in the outbox is dispatched by the next
turn or by recovery. Every receiver is idempotent, so dispatching twice is safe.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class Send:
    """Deliver a message to an actor (possibly this one)."""

    actor_id: str
    kind: str
    payload: dict[str, Any]
    msg_id: str


@dataclass(frozen=True)
class StartTimer:
    """Deliver a message to an actor at or after ``due_ms`` (ms since epoch)."""

    timer_id: str
    due_ms: int
    actor_id: str
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class CancelTimer:
    timer_id: str


@dataclass(frozen=True)
class EnqueueTask:
    """Send a Celery task by name; ``task_id`` is stable so a re-dispatch is recognisable.

    ``watch``: a sorted set and a member to score "now + ``watch_ms``" as the task is
    sent. Whoever runs the task replaces that entry with a short lease; one that never
    does (a message lost by the broker, a worker killed with the task reserved) leaves
    an entry that expires, for the sender's recovery to notice.
    """

    name: str
    task_id: str
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    queue: str | None = None
    #: the broker's priority level (on Redis, level 0 is read first); None: the default
    priority: int | None = None
    watch_key: str | None = None
    watch_member: str | None = None
    watch_ms: int = 0


Effect = Send | StartTimer | CancelTimer | EnqueueTask

_TYPES: dict[str, type] = {
    "send": Send,
    "start_timer": StartTimer,
    "cancel_timer": CancelTimer,
    "enqueue_task": EnqueueTask,
}
_NAMES = {cls: name for name, cls in _TYPES.items()}


_FIELDS = {cls: tuple(f.name for f in fields(cls)) for cls in _TYPES.values()}


def effect_to_dict(effect: Effect) -> dict[str, Any]:
    """Shallow (the values are JSON-encoded at once, into the outbox): ``asdict`` would
    deep-copy every step's arguments first."""
    out: dict[str, Any] = {"effect": _NAMES[type(effect)]}
    for name in _FIELDS[type(effect)]:
        out[name] = getattr(effect, name)
    return out


def effect_from_dict(data: dict[str, Any]) -> Effect:
    fields = dict(data)
    cls = _TYPES[fields.pop("effect")]
    return cls(**fields)  # type: ignore[no-any-return]
