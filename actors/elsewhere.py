"""An actor this process cannot run: its turn is handed back, untouched.

A behaviour raises :class:`ActorElsewhere` when the actor needs something this
process lacks (a workflow run whose code this worker did not import). The turn then
commits nothing: whatever it took goes back to the mailbox (``batch``), and
:func:`hand_back` ends it keeping the actor's flag, so senders keep publishing to
the mailbox without starting turns of their own, and passes the token on to the
system's ``hand_back`` hook, which sends the next turn where the need is met (or
keeps it until such a process appears). A turn task is never lost that way: should
the hook's turn never begin, the flag's lease runs out and recovery starts the
actor again, as after any lost turn task.

The exception itself is a data type (no I/O), so a pure behaviour may import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .turn import Turn

__all__ = ["ActorElsewhere", "hand_back"]


class ActorElsewhere(Exception):
    """This process cannot run the actor; ``need`` names what it lacks (the hook's
    business: e.g. ``workflow:order``)."""

    def __init__(self, need: str, reason: str = "") -> None:
        super().__init__(reason or f"this process lacks {need}")
        self.need = need


def hand_back(turn: Turn, need: str) -> None:
    """End ``turn`` without a release: what it dispatched goes out, its ``running`` mark
    is cleared (this task ended cleanly: no crash is counted), and the token, still
    owning the actor, goes to the system's ``hand_back`` hook (by default: a turn task
    queued again where turns of the actor go)."""
    system = turn.system
    turn.live.forget()
    turn.outbox.dispatch_pending()

    def clear(pipe: Any) -> None:
        pipe.hdel(turn.keys.meta, "running")

    turn.outbox.flush(also=clear)
    if system.hand_back is not None:
        system.hand_back(turn.actor_id, turn.token, need)
    else:
        system.start_turn(turn.actor_id, turn.token)
