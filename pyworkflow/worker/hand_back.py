"""Work this worker cannot run goes to a worker that can, or waits for one.

A worker never parks a run because it lacks the workflow, nor fails a step because
it lacks the function: two services sharing one Redis and one queue each take the
other's work now and then. What happens instead (``actors.elsewhere`` for turns,
``step_task`` for steps):

* a live worker advertises the need (``adverts``): the work is sent to that worker's
  direct queue, which only it reads: one broker hop;
* none does: the work waits, durably, in Redis (:func:`pyworkflow.keys.waiting_order`
  and ``waiting_tasks``, one entry per run or step attempt), shown by ``runs status``
  (the run's record says what it waits for), ``pyworkflow queues`` and ``/metrics``
  (``pyworkflow_runs_waiting_for_worker``). Every worker's maintenance loop takes the
  entries of needs it has (:meth:`HandBack.claim`) and sends them to itself.

Nothing is lost if a worker dies on the way: a handed-back turn keeps its run's flag
under a lease (:data:`WAITING_LEASE_MS` while it waits, the queued lease once sent)
and recovery starts the run again when that runs out; a handed-back step attempt
keeps its entry in the step-lease index, whose expiry makes its run send it again.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

from actors import log as _log

from .. import keys
from ..defaults import QUEUED_WATCH_MS
from ..events import STEP_SCHEDULED
from ..ids import RUN_ID_PREFIX, STEP_TASK, TURN_TASK, run_route, step_attempt
from ..routing import DEFAULT_QUEUE, broker_priority, celery_queues, describe_need_wait, need_queue
from .adverts import Advert, live_adverts, this_node
from .broker_backlog import BrokerBacklog

__all__ = ["WAITING_LEASE_MS", "HandBack"]

#: How long a run waiting for a worker holds its flag before recovery looks at it
#: again (it then comes back here, to wait again: a long wait costs a turn task per
#: this period, not a spin).
WAITING_LEASE_MS = 600_000
#: The advertised workers are read at most this often per process.
ADVERTS_TTL_S = 2.0
#: Entries a worker takes per need and maintenance pass.
CLAIM_BATCH = 100
#: A waiting entry whose task is still in its queue (nothing to send: a worker reading
#: that queue takes it; the claim only watches it again).
_IN_QUEUE = "in-queue"

logger = _log.get_logger("pyworkflow.hand_back")


class HandBack:
    """The hand-back of one process: ``turn`` (the actor system's hook), ``step`` and
    ``claim`` (a periodic job)."""

    def __init__(self, system: Any, prefix: str) -> None:
        self.system = system
        self.redis = system.redis
        self.prefix = prefix
        self._adverts: list[Advert] = []
        self._read_at = 0.0
        self._backlog = BrokerBacklog(self.redis, "")
        self._backlog_at: tuple[float, int] | None = None

    # -- where a need is met ------------------------------------------------------------
    def _worker_with(self, need: str) -> Advert | None:
        now = time.monotonic()
        if now - self._read_at > ADVERTS_TTL_S:
            self._adverts, self._read_at = live_adverts(self.redis, self.prefix), now
        me = this_node()
        able = [a for a in self._adverts if a.direct and a.node != me and a.has(need)]
        return random.choice(able) if able else None

    # -- a turn ----------------------------------------------------------------------------
    def turn(self, actor_id: str, token: str, need: str) -> None:
        """``ActorSystem.hand_back``: ``token`` still owns the run (and keeps it)."""
        system = self.system
        worker = self._worker_with(need)
        lease = system.queued_lease_ms if worker is not None else WAITING_LEASE_MS
        index = system.keys.lease_index_of(actor_id)

        def build(pipe: Any) -> None:
            system.scripts.call_in(pipe, "renew", [system.actor_keys(actor_id).activation],
                                   [token, lease])
            pipe.zadd(index, {actor_id: time.time() * 1000 + lease})
            if worker is None:
                self._wait_in(pipe, need, actor_id, {"task": TURN_TASK,
                                                     "args": [actor_id, token]})
                pipe.hset(system.actor_keys(actor_id).record, "waiting_for",
                          describe_need_wait(need))

        if not int(system.scripts.pipeline(build)[0]):
            return  # the run was taken over meanwhile: its new owner goes on
        if worker is not None:
            logger.info("run handed to a worker that has its workflow", run_id=actor_id,
                        need=need, worker=worker.node)
            system.enqueue_task(TURN_TASK, [actor_id, token], {}, None, worker.direct,
                                _priority(actor_id))
        else:
            logger.warning("no live worker has what this run needs; it waits for one",
                           run_id=actor_id, need=need)

    def unserved(self, actor_id: str, token: str) -> bool:
        """``ActorSystem.unserved``: recovery took over a run whose queue no live worker
        reads (its turn task may still sit there): rather than queue one more turn task
        after every queued lease, the run waits here, once, for a worker of that queue.
        False (queue the turn) when a worker reads it, or when no worker advertises at
        all (workers not started by ``worker run``: nothing to judge by)."""
        if not actor_id.startswith(RUN_ID_PREFIX):
            return False
        need = need_queue(run_route(actor_id).queue)
        self._worker_with(need)  # refreshes the adverts
        if not self._adverts or any(a.has(need) for a in self._adverts):
            return False
        self.turn(actor_id, token, need)
        return True

    def step_unserved(self, run_id: str, call_id: int, attempt: int) -> bool:
        """``StepLeases.unserved``: an attempt never started, and no live worker reads its
        queue (its task is still queued there). It waits, counted under ``queue:<name>``,
        its watch pushed :data:`WAITING_LEASE_MS` on, rather than sent again every minute;
        a worker that reads the queue takes the queued task. False (send it again) when
        a worker reads the queue, or when no worker advertises at all."""
        queue = self._step_queue(run_id, call_id)
        need = need_queue(queue)
        self._worker_with(need)  # refreshes the adverts
        if not self._adverts or any(a.has(need) for a in self._adverts):
            return False
        member = step_attempt(run_id, call_id, attempt)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(keys.step_leases(self.prefix), {member: time.time() * 1000 + WAITING_LEASE_MS})
        self._wait_in(pipe, need, member, {"task": _IN_QUEUE, "watch": member})
        pipe.execute()
        logger.warning("no live worker reads this step's queue; the attempt waits in it",
                       run_id=run_id, call_id=call_id, queue=queue)
        return True

    def steps_backlog(self) -> int:
        """``StepLeases.backlogged``: task messages waiting in the step queues of every
        queue a live worker reads, the default one and the workers' direct queues; read
        at most once per :data:`ADVERTS_TTL_S` (recovery may ask for many attempts)."""
        now = time.monotonic()
        if self._backlog_at is None or now - self._backlog_at[0] > ADVERTS_TTL_S:
            self._worker_with(need_queue(DEFAULT_QUEUE))  # refreshes the adverts
            names = {DEFAULT_QUEUE, *(q for a in self._adverts for q in a.queues)}
            queues = {celery_queues(self.prefix, name)["steps"] for name in names}
            queues.update(a.direct for a in self._adverts if a.direct)
            self._backlog_at = (now, sum(self._backlog(queue) for queue in sorted(queues)))
        return self._backlog_at[1]

    def _step_queue(self, run_id: str, call_id: int) -> str:
        """The queue an attempt of a step call went to: the step's own (journaled with
        the call), else its run's. Read from the journal: a rare path (once per
        ``WAITING_LEASE_MS`` per waiting attempt)."""
        for event in self.system.journal(run_id).read():
            if event.type == STEP_SCHEDULED and event.data.get("call_id") == call_id:
                return str(event.data.get("queue") or run_route(run_id).queue)
        return run_route(run_id).queue

    # -- a step attempt --------------------------------------------------------------------
    def step(self, kwargs: dict[str, Any], run_id: str, call_id: int, attempt: int,
             task_id: str | None, need: str) -> None:
        """A step task this worker lacks the function of, sent on or left waiting; its
        entry in the step-lease index (``StepLeases``) watches it either way."""
        worker = self._worker_with(need)
        member = step_attempt(run_id, call_id, attempt)
        watch_ms = QUEUED_WATCH_MS if worker is not None else WAITING_LEASE_MS
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(keys.step_leases(self.prefix), {member: time.time() * 1000 + watch_ms})
        if worker is None:
            self._wait_in(pipe, need, member, {"task": STEP_TASK, "kwargs": kwargs,
                                               "task_id": task_id, "watch": member})
            pipe.hset(self.system.actor_keys(run_id).record, "waiting_for",
                      describe_need_wait(need))
        pipe.execute()
        if worker is not None:
            logger.info("step attempt handed to a worker that has it", run_id=run_id,
                        need=need, worker=worker.node)
            self.system.enqueue_task(STEP_TASK, [], kwargs, task_id, worker.direct,
                                     _priority(run_id))
        else:
            logger.warning("no live worker has this step; the attempt waits for one",
                           run_id=run_id, need=need)

    def _wait_in(self, pipe: Any, need: str, member: str, task: dict[str, Any]) -> None:
        """One entry per run or attempt (a later hand-back of it replaces its task, so a
        stale token never piles up), first come first claimed."""
        pipe.sadd(keys.waiting_needs(self.prefix), need)
        pipe.zadd(keys.waiting_order(self.prefix, need), {member: time.time()}, nx=True)
        pipe.hset(keys.waiting_tasks(self.prefix, need), member, json.dumps(task))

    # -- claiming what waits for this worker -----------------------------------------------
    def claim(self, mine: Advert | None) -> int:
        """Send to this worker's direct queue the work waiting for what it has (a
        periodic job of its maintenance loop); returns how many were sent."""
        if mine is None or not mine.direct:
            return 0
        waiting = {n.decode() if isinstance(n, bytes) else str(n)
                   for n in self.redis.smembers(keys.waiting_needs(self.prefix))}
        needs = [n for n in mine.needs if n in waiting]
        if not needs:
            return 0
        pipe = self.redis.pipeline(transaction=False)
        for need in needs:
            pipe.zpopmin(keys.waiting_order(self.prefix, need), CLAIM_BATCH)
        popped = pipe.execute()
        sent = 0
        for need, members in zip(needs, popped, strict=True):
            if not members:
                continue
            names = [m.decode() if isinstance(m, bytes) else str(m) for m, _ in members]
            tasks_key = keys.waiting_tasks(self.prefix, need)
            pipe = self.redis.pipeline(transaction=False)
            pipe.hmget(tasks_key, names)
            pipe.hdel(tasks_key, *names)
            raws = pipe.execute()[0]
            for member, raw in zip(names, raws, strict=True):
                sent += self._send_claimed(mine, member, raw)
        return sent

    def _send_claimed(self, mine: Advert, member: str, raw: Any) -> int:
        if raw is None:
            return 0  # replaced while claimed: its lease brings it back
        try:
            task = json.loads(raw)
            name, args, kwargs = str(task["task"]), list(task.get("args") or []), \
                dict(task.get("kwargs") or {})
        except (ValueError, TypeError, KeyError):
            logger.error("a waiting entry that is not a task, dropped", member=member)
            return 0
        system = self.system
        if name == _IN_QUEUE:  # its task is in its queue, which this worker reads
            system.redis.zadd(keys.step_leases(self.prefix),
                              {task["watch"]: time.time() * 1000 + QUEUED_WATCH_MS})
            return 1
        run_id = str(args[0]) if name == TURN_TASK and args else str(kwargs.get("run_id", ""))
        if run_id:
            system.redis.hdel(system.actor_keys(run_id).record, "waiting_for")
        if name != TURN_TASK:
            if task.get("watch"):
                system.redis.zadd(keys.step_leases(self.prefix),
                                  {task["watch"]: time.time() * 1000 + QUEUED_WATCH_MS})
        logger.info("work that waited for a worker like this one taken", member=member)
        system.enqueue_task(name, args, kwargs, task.get("task_id"), mine.direct,
                            _priority(run_id))
        return 1


def _priority(run_id: str) -> int:
    """Handed-back work keeps its run's priority (as work in progress)."""
    return broker_priority(run_route(run_id).priority)
