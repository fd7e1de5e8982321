"""A turn's end sent behind the commit of its last batch, in that commit's round trip.

A turn with a message in hand (``in_hand``) usually ends right after that batch: the
mailbox is empty. When what the batch decided can go with the commit too, the
release, the batch's effects and the deletion of their outbox entries are queued
behind the commit (:class:`EndInCommit`), so the turn's end costs no round trip of its
own; what that release found is then the turn's end (:class:`EndedInCommit`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..effects import EnqueueTask, StartTimer
from ..ownership import Released, queue_release
from ..turn_end import TurnEnd, after_released, start_turn_if_waiting
from .conditional_writes import ConditionalWrites
from .in_place import KeptTask

if TYPE_CHECKING:
    from ..system import ActorSystem
    from ..turn import Turn


class EndInCommit:
    """A turn's end sent behind the commit of its message in hand, in its round trip,
    when the turn ends right after that batch (the release reads the mailbox's length,
    and takes nothing back) and the batch's effects can go there too: none; timers
    (``StartTimer``: scheduled there); or one task this process will keep to run in
    place (``in_place``: the writes the task's run begins with, ``InPlaceTasks.
    prepare``, a step's lease). Queued: those writes, the release, the deletion of the
    effects' outbox entries, each so that it happens only if the commit did
    (``if_committed.lua``, ``release.lua``; an entry exists only if it did), in that
    order: a write cut short never leaves an effect with neither its outbox entry nor
    its own record (lease, timer). Should this process die after it, a kept task is
    covered as one that started here (a step's lease expires and reports it lost);
    before it, the outbox still holds every effect."""

    def __init__(self, system: ActorSystem, actor_id: str, token: str, length_key: str,
                 effect_ids: list[str], writes: ConditionalWrites | None,
                 kept: KeptTask | None) -> None:
        self._system, self._actor_id, self._token = system, actor_id, token
        self._length_key = length_key
        self._effect_ids = effect_ids
        self._writes = writes
        self._kept = kept

    @classmethod
    def plan(cls, system: ActorSystem, actor_id: str, token: str, length_key: str | None,
             committed: list[tuple[str, Any]]) -> EndInCommit | None:
        """The end for a batch committing ``committed``, or None (the turn ends as usual):
        a Redis-list mailbox on one server, and effects that can go behind the commit."""
        if length_key is None or not system.single_server:
            return None
        ids = [eid for eid, _ in committed]
        effects = [effect for _, effect in committed]
        if all(isinstance(e, StartTimer) for e in effects):
            writes = ConditionalWrites()
            for timer in effects:
                system.timers.schedule_writes(writes, timer.timer_id, timer.due_ms,
                                              system.timer_message(timer))
            return cls(system, actor_id, token, length_key, ids, writes or None, None)
        effect = effects[0] if len(effects) == 1 else None
        if not isinstance(effect, EnqueueTask):
            return None
        task = KeptTask(effect.name, effect.args, effect.kwargs, effect.task_id, effect.queue,
                        priority=effect.priority)
        if not system.in_place.would_keep(task):
            return None
        return cls(system, actor_id, token, length_key, ids,
                   system.in_place.prepare(task) or None, task)

    def queue(self, pipe: Any, commit_id: str, riders: list[Callable[[Any], None]]) -> None:
        """Queue the end behind the commit ``commit_id`` (already on ``pipe``), with
        ``riders`` (the writes meant for the release) after the release."""
        sys_, k = self._system, self._system.actor_keys(self._actor_id)
        if self._writes is not None:
            sys_.scripts.call_in(pipe, "if_committed", [k.meta, *self._writes.keys],
                                 [commit_id, *self._writes.args])
        queue_release(sys_, pipe, self._actor_id, self._token, self._length_key, "0", True,
                      riders, after_commit=commit_id)
        if self._effect_ids:
            pipe.hdel(k.outbox, *self._effect_ids)
        pipe.hlen(k.outbox)

    def outcome(self, replies: list[Any] | None) -> EndedInCommit | None:
        """The end made, from the replies of what ``queue`` queued; None when it was not
        (the commit did not happen, or nothing was queued)."""
        if replies is None:
            return None
        released = Released.parse(replies[1 if self._writes is not None else 0])
        if released is None:
            return None
        kept = self._kept
        if kept is not None and self._writes is not None:
            kept = dataclasses.replace(kept, prepared=list(replies[0] or []))
        return EndedInCommit(released, int(replies[-1]), kept)


@dataclass(frozen=True)
class EndedInCommit(TurnEnd):
    """A turn whose end went in its last commit's round trip (:class:`EndInCommit`), with
    its effects (their entries deleted there too): ``finish`` only looks at what the
    release found (``released``; ``outbox_left``: the outbox's length after it) and keeps
    the task it kept (``kept``: to run here once the turn is over)."""

    released: Released
    outbox_left: int
    kept: KeptTask | None

    def put_back_after(self) -> EndedInCommit:
        """Messages a dead turn left went back to the mailbox after this release (the
        turn puts them back as it runs): count them as waiting, so the actor is taken
        back for them."""
        if self.released.waiting != 0:
            return self
        return dataclasses.replace(self, released=Released(ours=True, waiting=1))

    def finish(self, turn: Turn) -> bool:
        turn.live.keep()
        turn.outbox.forget_pending()
        if self.kept is None:
            return after_released(turn, self.released, None, [self.outbox_left], idle=True)
        turn.system.in_place.keep(self.kept)
        start_turn_if_waiting(turn, self.released)
        return True
