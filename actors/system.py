"""The actor system: where a process finds the runtime's parts, and how it sends.

``send`` is the one way a message reaches an actor: publish to its mailbox, then
*activate* it. Activation takes the actor's scheduled flag if it is free (set if
absent, with a lease) and, if it did, enqueues a turn. Whoever holds the flag is
responsible for every message published before it lets go (see ``Turn``), so a
message is never stranded and two turns of one actor never run at once.

Two messages skip the mailbox when their actor is idle: a new run's first message
(``deliver_held``: kept in the actor's in-hand key, with the flag) and a due timer's
(``deliver_timers``: carried by the wake task, the timer claimed until the turn holds
it). Both go in hand with the turn that handles them; a busy actor gets them through
its mailbox as usual.
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

import redis
from redis.cluster import RedisCluster

from . import log as _log
from ._scripts import Scripts
from .behaviour import Behaviour
from .compaction import Compactor
from .dead_letters import DeadLetters
from .effects import CancelTimer, Effect, EnqueueTask, Send, StartTimer
from .fast.in_place import InPlaceTasks, KeptTask
from .instruments import Instruments
from .journal import Journal
from .keys import ActorKeys, GlobalKeys
from .kombu_reader import KombuReader
from .lease_keeper import LeaseKeeper
from .mailbox import Mailbox
from .mailbox_reader import MailboxReader
from .message import Message, new_msg_id
from .redis_list_reader import RedisListReader
from .state_cache import StateCache
from .task_names import TURN_TASK_NAME, WAKE_TASK_NAME
from .timers import ClaimedTimer, TimerStore, timer_message_id
from .transport_guard import route_dead_letters
from .turn_begin import InHandTurn

#: Lease of a turn chain on its actor. A worker that dies mid-turn is noticed once
#: this expires; the recovery sweep runs every second, so an actor is running again
#: well within 10 s.
DEFAULT_LEASE_MS = 5_000

QUEUED_LEASE_MS = 30_000
#: See ``ActorSystem.queued_check_ms``.
QUEUED_CHECK_MS = 10_000
#: See ``ActorSystem.first_turn_lease_ms``.
FIRST_TURN_LEASE_MS = 60_000

#: At most this many timer turns go in one wake task: enough to spread a worker's
#: per-task cost (receiving, acknowledging, publishing) over many wake-ups, few enough
#: that a burst is shared among the processes of every worker.
WAKE_BATCH = 16

logger = _log.get_logger("actors.system")


class UnknownActor(LookupError):
    """No behaviour is routed for this actor id."""


class ActorSystem:
    """Holds a Redis client, a Kombu mailbox and the behaviours routed by actor-id prefix."""

    def __init__(self, client: redis.Redis, broker_url: str, prefix: str = "actors",
                 lease_ms: int = DEFAULT_LEASE_MS, cache_size: int = 1000,
                 mailbox_in_redis: bool = False,
                 enqueue: Callable[[str, list[Any], dict[str, Any], str | None, str | None], None]
                 | None = None) -> None:
        self.redis = client
        self.prefix = prefix
        self.lease_ms = lease_ms
        #: A turn that is enqueued but not started yet holds the actor this long: a deep
        #: queue must not look like a dead turn (the running turn's lease is the short
        #: one). Enqueued turn tasks live in the broker, so a dead worker loses none.
        self.queued_lease_ms = QUEUED_LEASE_MS
        #: ... and an actor's first turn, queued behind work in progress for as long as
        #: the workers take to drain it (a router may put first turns last): ``activate``
        #: of a message whose kind is in ``first_kinds``, and ``deliver_held``. Were it short, a
        #: deep queue of first turns would be taken over every ``queued_lease_ms``, one
        #: more turn task each time. A first turn whose task was never sent (its sender
        #: died between setting the flag and sending it) waits this long, so it is a
        #: minute, not more: at 10 minutes the chaos run (30 kills) had a child run
        #: stand still past its stall limit.
        self.first_turn_lease_ms = FIRST_TURN_LEASE_MS
        #: ... but recovery looks at a queued turn this soon already, and takes the actor
        #: over if no queue holds its task (``recovery.py``, ``task_may_be_queued``: a
        #: task lost on its way, which otherwise waited out the whole queued lease)
        self.queued_check_ms = QUEUED_CHECK_MS
        #: ``backlog(queue)``: task messages waiting in a Celery queue (None: the turn
        #: queue), or None when it cannot be told; None here: never read (a queued turn
        #: then waits out its lease)
        self.backlog: Callable[[str | None], int | None] | None = None
        #: ``queue_text(queue)``: the task messages waiting in a Celery queue (None: the
        #: turn queue) as one text to search for an actor id, or None when the queue is
        #: too long to read; None here: never read (a queued turn waits out its lease)
        self.queue_text: Callable[[str | None], str | None] | None = None
        self.first_kinds: frozenset[str] = frozenset()
        #: the broker is this same Redis: a turn reads its mailbox's length atomically
        self.mailbox_in_redis = mailbox_in_redis
        self.scripts = Scripts(client)
        self.keys = GlobalKeys(prefix)
        self.mailbox = Mailbox(broker_url, self.keys)
        self.timers = TimerStore(client, self.scripts, self.keys)
        self.dead_letters = DeadLetters(client, self.keys.dead_letters)
        # A process has one actor system: what its queues cannot read lands here.
        route_dead_letters(self.dead_letter_from_queue)
        self.cache = StateCache(cache_size)
        self.leases = LeaseKeeper(self)
        self._routes: list[tuple[str, Behaviour[Any]]] = []
        #: called with ``priority=`` (a keyword) only for a task that has one
        self._enqueue: Callable[..., None] | None = enqueue
        self._batch: Callable[[], AbstractContextManager[None]] | None = None
        self.turn_queue: str | None = None
        #: where an actor's turn tasks go: ``router(actor_id, kind)`` -> (queue, priority),
        #: ``kind`` being the kind of the message that starts the turn chain when the
        #: sender knows it (None: a chained turn, recovery, a hand-back). None: every turn
        #: to ``turn_queue``. Pure and cheap: it runs on every send of a turn task.
        self.router: Callable[[str, str | None], tuple[str | None, int | None]] | None = None
        #: what to do with a turn of an actor this process cannot run (``ActorElsewhere``):
        #: ``hand_back(actor_id, token, need)``, the token still owning the actor. None:
        #: the turn is queued again where it came from.
        self.hand_back: Callable[[str, str, str], None] | None = None
        #: asked before recovery queues a taken-over actor's turn: ``unserved(actor_id,
        #: token)`` True when it kept the turn itself (nobody reads the queue the turn
        #: would go to: queued there, it would be taken over again after every queued
        #: lease, one more stale task each time). None: always queued.
        self.unserved: Callable[[str, str], bool] | None = None
        #: processes that run this worker's tasks (its pool): a burst of wake-ups is cut
        #: into at least this many wake tasks, so every process takes a share
        self.pool_size = 1
        #: extra jobs the maintenance loop runs about once a second (e.g. lease sweeps
        #: of things that are not actors)
        self.periodic: list[Callable[[], Any]] = []
        #: metrics and tracing hooks (see ``instruments``); never fail the runtime
        self.instruments = Instruments()
        #: every key on one server (not a Redis Cluster): a script may touch any of them
        self.single_server = not isinstance(client, RedisCluster)
        #: journals this process seals in the background (``compaction``)
        self.compactor = Compactor(self)
        #: tasks this process keeps and runs itself, right after the task sending them
        self.in_place = InPlaceTasks(self._send_kept, self.scripts.pipeline,
                                     can_defer=self.single_server)

    # -- wiring -----------------------------------------------------------------------
    def route(self, actor_id_prefix: str, behaviour: Behaviour[Any]) -> None:
        """Actors whose id starts with ``actor_id_prefix`` behave as ``behaviour``."""
        self._routes = [(p, b) for p, b in self._routes if p != actor_id_prefix]
        self._routes.append((actor_id_prefix, behaviour))
        self._routes.sort(key=lambda r: -len(r[0]))

    def behaviour_for(self, actor_id: str) -> Behaviour[Any]:
        for prefix, behaviour in self._routes:
            if actor_id.startswith(prefix):
                return behaviour
        raise UnknownActor(f"no behaviour routed for actor {actor_id!r}")

    def set_enqueue(self, enqueue: Callable[[str, list[Any], dict[str, Any], str | None,
                                             str | None], None],
                    batch: Callable[[], AbstractContextManager[None]] | None = None) -> None:
        """How to send a Celery task: ``enqueue(name, args, kwargs, task_id, queue)``, and
        ``priority=`` for a task that has one (the broker's level: 0 first, on Redis);
        ``batch()``: a context in which sends go out together when it ends."""
        self._enqueue = enqueue
        self._batch = batch

    def sending_together(self) -> AbstractContextManager[None]:
        """Tasks enqueued inside are published together at its end (one round trip
        where the broker allows), e.g. a burst of due timers' turns."""
        return self._batch() if self._batch is not None else contextlib.nullcontext()

    def actor_keys(self, actor_id: str) -> ActorKeys:
        return self.keys.for_actor(actor_id)

    def journal(self, actor_id: str) -> Journal:
        return Journal(self.redis, self.scripts, self.actor_keys(actor_id))

    def mailbox_reader(self, keys: ActorKeys) -> MailboxReader[Any]:
        """How a turn reads an actor's mailbox: straight from its Redis list when the
        broker is this same Redis, else through Kombu."""
        if self.mailbox_in_redis:
            return RedisListReader(self, keys)
        return KombuReader(self, keys)

    # -- sending and activation ----------------------------------------------------
    def send(self, actor_id: str, kind: str, payload: dict[str, Any] | None = None,
             msg_id: str | None = None) -> Message:
        message = Message(kind=kind, actor_id=actor_id, payload=payload or {},
                          msg_id=msg_id or new_msg_id())
        self.deliver(message)
        return message

    def deliver(self, message: Message, inline: bool = False,
                with_release: Callable[[Any], None] | None = None) -> bool:
        """Publish ``message`` and activate its actor; True when it was handled here.

        ``inline=True`` first tries to take the actor's flag and, if it wins, runs the
        turn right here with the message in hand: no mailbox round trips and no Celery
        hop (a worker that just finished a step handles the run's next move itself).
        Only for callers inside a worker task that can produce the message again if
        this process dies before the turn commits (a step holds a lease for that).
        ``with_release`` then rides on that turn's release (``InHandTurn``).
        If the actor is busy, the message goes through the mailbox as usual.
        """
        if inline and InHandTurn(message, with_release).run(self):
            return True
        self.mailbox.put(self.actor_keys(message.actor_id).mailbox, message)
        self.activate(message.actor_id, message.kind)
        return False

    def deliver_held(self, message: Message,
                     before: Callable[[Any], None] | None = None) -> None:
        """Deliver ``message`` to an actor that is probably idle (a run just created):
        hand it over with the turn that will handle it (``hand_over.lua`` keeps it in
        the actor's in-hand key and takes the flag; the turn task carries only its
        id). Costs one round trip, which also carries ``before(pipe)`` (the caller's own
        writes), and the turn task's publish, against a mailbox publish, an activation
        and the publish for ``deliver``; and the turn takes nothing. A busy actor gets
        the message through its mailbox. Should the turn task be lost, the actor's
        queued lease expires and whoever takes it over finds the message in hand and
        puts it in the mailbox; should the publish fail, the hand-over is undone."""
        actor_id = message.actor_id
        keys = self.actor_keys(actor_id)
        token = uuid.uuid4().hex

        def build(pipe: Any) -> None:
            if before is not None:
                before(pipe)
            self.touch_index(pipe, actor_id, queued=True)
            self.scripts.call_in(pipe, "hand_over", [keys.activation, keys.inhand],
                                 [token, self.first_turn_lease_ms, message.encode()])

        if not int(self.scripts.pipeline(build)[-1]):
            self.deliver(message)
            return
        try:
            queue, priority = self.turn_route(actor_id, message.kind)
            self.enqueue_task(TURN_TASK_NAME, [actor_id, token], {"stored": message.msg_id},
                              None, queue, priority)
        except BaseException:
            with contextlib.suppress(Exception):
                self.scripts.hand_back(keys=[keys.activation, keys.inhand], args=[token])
            raise

    def deliver_many(self, messages: list[Message]) -> None:
        """Publish each message, then activate their actors in one round trip (what a
        burst of due timers needs: ``deliver`` costs two round trips per message)."""
        kinds: dict[str, str] = {}
        for message in messages:
            self.mailbox.put(self.actor_keys(message.actor_id).mailbox, message)
            kinds.setdefault(message.actor_id, message.kind)
        for actor_id, token in self._activate_all(list(kinds)):
            if token is not None:
                self.start_turn(actor_id, token, kinds[actor_id])

    def _activate_all(self, actor_ids: list[str]) -> list[tuple[str, str | None]]:
        """Take the flags of ``actor_ids`` where free, in one round trip: (actor id, the
        new turn chain's token, or None where the actor is busy)."""
        tokens = [uuid.uuid4().hex for _ in actor_ids]

        def build(pipe: Any) -> None:
            for actor_id, token in zip(actor_ids, tokens, strict=True):
                self.touch_index(pipe, actor_id, queued=True)
                self.scripts.call_in(pipe, "activate", [self.actor_keys(actor_id).activation],
                                     [token, self.queued_lease_ms])

        won = self.scripts.pipeline(build)[1::2] if actor_ids else []
        return [(actor_id, token if ok else None)
                for actor_id, token, ok in zip(actor_ids, tokens, won, strict=True)]

    def deliver_timers(self, timers: list[ClaimedTimer],
                       keep: Callable[[str | None], bool] | None = None) -> list[list[str]]:
        """Deliver claimed due timers and confirm them; returns the wake turns kept for
        the caller to run itself (``keep(queue)`` True: ``actors.timer_runner``), not sent.

        An idle actor gets its timer's message *in hand*, in a wake task that runs its
        turn (``TimerTurn``): no mailbox publish, no take. A wake task carries up
        to ``WAKE_BATCH`` such turns, run one after the other, so that a burst of
        wake-ups does not cost a Celery task each (the worker's main process, which
        receives and acknowledges every task, was the bottleneck); a burst is cut into
        at least ``pool_size`` tasks. Such a timer stays claimed until its turn's begin
        holds the message durably (in the actor's in-hand key), which confirms it in
        the same round trip; should the task be lost, the claim expires and the timer
        fires again (its message id makes a repeat harmless). A timer whose actor is
        busy, or the second timer of one actor, goes through the mailbox and is
        confirmed here."""
        first: dict[str, ClaimedTimer] = {}
        rest: list[ClaimedTimer] = []
        for timer in timers:
            if timer.message.actor_id in first:
                rest.append(timer)
            else:
                first[timer.message.actor_id] = timer
        routed: dict[tuple[str | None, int | None], list[list[str]]] = {}
        for actor_id, token in self._activate_all(list(first)):
            timer = first[actor_id]
            if token is not None:
                routed.setdefault(self.turn_route(actor_id, timer.message.kind), []).append(
                    [actor_id, token, timer.message.encode(), timer.timer_id])
            else:
                rest.append(timer)
        kept: list[list[str]] = []
        if keep is not None:
            for route in [r for r in routed if keep(r[0])]:
                kept.extend(routed.pop(route))
        if routed:
            with self.sending_together():
                for (queue, priority), turns in routed.items():
                    tasks = max(-(-len(turns) // WAKE_BATCH), min(len(turns), self.pool_size))
                    for i in range(tasks):
                        self.enqueue_task(WAKE_TASK_NAME, [turns[i::tasks]], {}, None,
                                          queue, priority)
        if rest:
            self.deliver_many([timer.message for timer in rest])
            self.timers.confirm(*[timer.timer_id for timer in rest])
        return kept

    def lease_score(self, queued: bool = False) -> float:
        """A lease-index score: when recovery should look at the actor (a running turn's
        lease expiry; a queued turn's first check, ``queued_check_ms``) in ms, plus a
        random fraction so that every write is distinguishable (``unindex.lua`` relies
        on it)."""
        lease = min(self.queued_check_ms, self.queued_lease_ms) if queued else self.lease_ms
        return time.time() * 1000 + lease + random.random()

    def task_may_be_queued(self, actor_id: str, cache: dict[str | None, str | None]
                           ) -> bool | None:
        """Whether a task of ``actor_id`` may wait in a queue its queued turn could have
        been sent to (its route, and its first turn's): False when none of them holds
        one, True when one does or one is too long to read (``queue_text`` None), None
        when this system reads no queue. ``cache`` keeps each queue's text for the rest
        of a recovery pass. A task that merely names the actor (a message to a parent
        about its child) counts: it only makes the turn wait its lease, as before."""
        if self.queue_text is None:
            return None
        queues = {self.turn_route(actor_id, kind)[0] for kind in (None, *self.first_kinds)}
        for queue in queues:
            if queue not in cache:
                try:
                    cache[queue] = self.queue_text(queue)
                except Exception as exc:  # unknown: the turn keeps its lease
                    logger.warning("queue could not be read", queue=queue, error=repr(exc))
                    cache[queue] = None
            text = cache[queue]
            if text is None or actor_id in text:
                return True
        return False

    def touch_index(self, pipe: Any, actor_id: str, queued: bool) -> None:
        """Queue a sender's write to the lease index on ``pipe`` (see index_touch.lua)."""
        self.scripts.call_in(pipe, "index_touch", [self.keys.lease_index_of(actor_id)],
                             [actor_id, self.lease_score(queued=queued), random.random()])

    def activate(self, actor_id: str, kind: str | None = None) -> bool:
        """Take the actor's flag if free and start a turn chain; False if one is running.
        ``kind``: the message's that asks for it (the turn's route may depend on it)."""
        keys = self.actor_keys(actor_id)
        token = uuid.uuid4().hex

        def build(pipe: Any) -> None:
            # Index first: if this process dies right after taking the flag, the index
            # already points recovery at the actor.
            self.touch_index(pipe, actor_id, queued=True)
            self.scripts.call_in(pipe, "activate", [keys.activation], [token, lease])

        lease = self.first_turn_lease_ms if kind in self.first_kinds else self.queued_lease_ms
        won = bool(self.scripts.pipeline(build)[1])
        if won:
            self.start_turn(actor_id, token, kind)
        return won

    def turn_route(self, actor_id: str, kind: str | None = None
                   ) -> tuple[str | None, int | None]:
        """(queue, priority) of a turn task of ``actor_id`` (see ``router``)."""
        if self.router is None:
            return self.turn_queue, None
        return self.router(actor_id, kind)

    def restart_turn(self, actor_id: str, token: str) -> None:
        """Recovery's turn of an actor it took over (see ``unserved``)."""
        if self.unserved is not None and self.unserved(actor_id, token):
            return
        self.start_turn(actor_id, token)

    def start_turn(self, actor_id: str, token: str, kind: str | None = None) -> None:
        queue, priority = self.turn_route(actor_id, kind)
        self.enqueue_task(TURN_TASK_NAME, [actor_id, token], {}, None, queue, priority)

    def enqueue_task(self, name: str, args: list[Any], kwargs: dict[str, Any],
                     task_id: str | None, queue: str | None,
                     priority: int | None = None) -> None:
        if self.in_place.offer(KeptTask(name, args, kwargs, task_id, queue,
                                        priority=priority)):
            return
        self._send(name, args, kwargs, task_id, queue, priority)

    def _send_kept(self, task: KeptTask) -> None:
        self._send(task.name, task.args, task.kwargs, task.task_id, task.queue, task.priority)

    def _send(self, name: str, args: list[Any], kwargs: dict[str, Any],
              task_id: str | None, queue: str | None, priority: int | None = None) -> None:
        if self._enqueue is None:
            raise RuntimeError("ActorSystem has no task sender; call set_enqueue() or install()")
        if priority is None:
            self._enqueue(name, args, kwargs, task_id, queue)
        else:  # keyword: a sender that knows no priorities is still called as before
            self._enqueue(name, args, kwargs, task_id, queue, priority=priority)

    # -- effects ------------------------------------------------------------------
    def dispatch(self, effects: Iterable[Effect], watched: bool = False) -> None:
        """``watched``: the caller already wrote the watch entries (see EnqueueTask)."""
        for effect in effects:
            if watched and isinstance(effect, EnqueueTask):
                self.enqueue_task(effect.name, effect.args, effect.kwargs, effect.task_id,
                                  effect.queue, effect.priority)
            else:
                self.dispatch_one(effect)

    def dispatch_one(self, effect: Effect) -> None:
        if isinstance(effect, Send):
            self.deliver(Message(kind=effect.kind, actor_id=effect.actor_id,
                                 payload=effect.payload, msg_id=effect.msg_id))
        elif isinstance(effect, StartTimer):
            self.timers.schedule_at(effect.timer_id, effect.due_ms, self.timer_message(effect))
        elif isinstance(effect, CancelTimer):
            self.timers.cancel(effect.timer_id)
        elif isinstance(effect, EnqueueTask):
            if effect.watch_key and effect.watch_member:
                self.redis.zadd(effect.watch_key,
                                {effect.watch_member: time.time() * 1000 + effect.watch_ms})
            self.enqueue_task(effect.name, effect.args, effect.kwargs, effect.task_id,
                              effect.queue, effect.priority)
        else:  # pragma: no cover
            raise TypeError(f"unknown effect {effect!r}")

    @staticmethod
    def timer_message(effect: StartTimer) -> Message:
        """The message a timer delivers (its id names the timer: a repeat is dropped)."""
        return Message(kind=effect.kind, actor_id=effect.actor_id, payload=effect.payload,
                       msg_id=timer_message_id(effect.timer_id))

    def dead_letter_from_queue(self, queue: str, raw: bytes, reason: str) -> None:
        """Record an entry a queue held that could not be read (see ``transport_guard``),
        naming the actor when the queue is an actor's mailbox."""
        self.dead_letters.add(reason, raw, queue=queue,
                              actor_id=self.keys.actor_of_mailbox(queue) or "")

    # -- retention -----------------------------------------------------------------
    def forget(self, actor_id: str) -> bool:
        """Delete every key of an actor that is not running (retention of finished
        actors). False, deleting nothing, while a turn holds it: it is not finished."""
        keys = self.actor_keys(actor_id)
        if self.redis.exists(keys.activation):
            return False
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(*keys.every())
        pipe.zrem(self.keys.lease_index_of(actor_id), actor_id)
        pipe.execute()
        self.cache.evict(actor_id)
        return True

    # -- inspection ----------------------------------------------------------------
    def is_active(self, actor_id: str) -> bool:
        return bool(self.redis.exists(self.actor_keys(actor_id).activation))
