"""A turn's end put off to the first round trip of the task it keeps to run in place."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..ownership import Released
from ..turn_end import TurnEnd, start_turn_if_waiting
from .in_place import KeptTask

if TYPE_CHECKING:
    from ..turn import Turn


class ReleaseBehindKeptTask(TurnEnd):
    """End a turn whose one effect is a task this process keeps (``in_place``): keep it
    (``keep``), and put the release itself off to the kept task's first round trip,
    with the outbox entry's deletion and the lease-index entry's removal (``finish``).

    The kept task runs only after that round trip, so the actor is free while it runs,
    exactly as if it had been dispatched after the release. Should this process die
    first, the actor is still owned and its outbox still holds the task: its lease
    expires and recovery dispatches it. A message that arrived before the release (its
    sender found the actor busy) starts a turn task once the release has run
    (``turn_end.start_turn_if_waiting``), instead of being taken back here."""

    @classmethod
    def keep(cls, turn: Turn) -> ReleaseBehindKeptTask | None:
        """Keep the turn's one pending task here and return the end that goes with it;
        None (nothing kept) when the turn must end otherwise."""
        effect = turn.outbox.single_pending()
        if effect is None or not turn.can_release_idle() or not turn.system.in_place.offer(
                KeptTask(effect.name, effect.args, effect.kwargs, effect.task_id,
                         effect.queue, priority=effect.priority)):
            return None
        return cls()

    def finish(self, turn: Turn) -> bool:
        sys_ = turn.system
        turn.live.keep()
        turn.outbox.mark_pending_dispatched()  # kept: its entry goes with the release
        riders = turn.take_riders()  # they go with the release

        def release(pipe: Any) -> None:
            turn.queue_release(pipe, "0", True, riders)
            turn.outbox.delete_dispatched_in(pipe)

        def after(results: list[Any]) -> None:
            released = Released.parse(results[0])
            assert released is not None  # an unconditional release always runs
            start_turn_if_waiting(turn, released)

        if not sys_.in_place.defer(release, after=after):
            after(sys_.scripts.pipeline(release))
        return True
