"""What each worker runs, said out loud: its queues, workflows and steps.

A worker started by ``pyworkflow worker run`` writes one entry (its node name ->
JSON) into one hash (:func:`pyworkflow.keys.worker_adverts`) from its maintenance
loop, at most every :data:`heartbeat.BEAT_EVERY_S`, and takes it out when it stops
cleanly; an entry not renewed within :data:`heartbeat.STALE_AFTER_S` is a worker
gone. Who reads it: the hand-back (a run or step this worker lacks goes to a worker
that advertises it, ``hand_back``), ``pyworkflow queues``, the dashboard and
``/metrics``. Written from what the registry holds once the user's module is
imported, so it is what the worker can run, not what it was told to.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

from actors import log as _log

from .. import keys
from ..registry import list_steps, list_workflows
from ..routing import DEFAULT_QUEUE, direct_queue, need_queue, need_step, need_workflow
from .heartbeat import BEAT_EVERY_S, FORGET_AFTER_S, STALE_AFTER_S

logger = _log.get_logger("pyworkflow.adverts")

__all__ = ["MAILBOX_BROKER", "MAILBOX_REDIS", "NODE_ENV", "QUEUES_ENV", "Advert", "Adverts",
           "live_adverts", "mixed_mailboxes", "this_node", "this_queues"]

#: Set by ``pyworkflow worker run`` for the worker's processes: its Celery node name...
NODE_ENV = "PYWORKFLOW_WORKER_NODE"
#: ... and the pyworkflow queues it reads (comma-separated).
QUEUES_ENV = "PYWORKFLOW_WORKER_QUEUES"
#: The two mailbox paths a worker may read (``Advert.mailbox``).
MAILBOX_REDIS = "redis"
MAILBOX_BROKER = "broker"
#: How often a worker compares its mailbox path with the live workers' (seconds).
MAILBOX_CHECK_EVERY_S = 60.0


def this_node() -> str | None:
    """This worker's node name, when started by ``pyworkflow worker run``."""
    return os.environ.get(NODE_ENV) or None


def this_queues() -> list[str]:
    """The pyworkflow queues this worker reads (the default queue when not told)."""
    raw = os.environ.get(QUEUES_ENV, "")
    return [q for q in raw.split(",") if q] or [DEFAULT_QUEUE]


@dataclass(frozen=True)
class Advert:
    """One worker's entry."""

    node: str
    at: float
    queues: list[str] = field(default_factory=list)
    workflows: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    #: the Celery queue only this worker reads (None: not started by ``worker run``)
    direct: str | None = None
    #: how this worker reads run mailboxes: :data:`MAILBOX_REDIS` (the broker is the
    #: state Redis: the runtime's own lists) or :data:`MAILBOX_BROKER` (Kombu queues).
    #: None: a worker from before this field. Every worker of one deployment must use
    #: the same path: the two keep a taken message in different places, so a run whose
    #: turns alternate between them can stand still (see :func:`mixed_mailboxes`).
    mailbox: str | None = None

    def has(self, need: str) -> bool:
        kind, _, name = need.partition(":")
        return name in {"workflow": self.workflows, "step": self.steps,
                        "queue": self.queues}.get(kind, [])

    @property
    def needs(self) -> list[str]:
        return ([need_workflow(w) for w in self.workflows] + [need_step(s) for s in self.steps]
                + [need_queue(q) for q in self.queues])

    def encode(self) -> str:
        return json.dumps({"at": self.at, "queues": self.queues, "workflows": self.workflows,
                           "steps": self.steps, "direct": self.direct,
                           "mailbox": self.mailbox})

    @classmethod
    def decode(cls, node: str, raw: bytes | str) -> Advert | None:
        try:
            data = json.loads(raw)
            return cls(node, float(data["at"]), list(data.get("queues") or []),
                       list(data.get("workflows") or []), list(data.get("steps") or []),
                       data.get("direct"), data.get("mailbox"))
        except (ValueError, KeyError, TypeError):
            return None  # not ours to read: ignored, and forgotten once stale


class Adverts:
    """This worker's entry; ``advertise`` is a periodic maintenance job."""

    def __init__(self, redis: Any, prefix: str, mailbox: str | None = None) -> None:
        self.redis = redis
        self.prefix = prefix
        self.key = keys.worker_adverts(prefix)
        self.mailbox = mailbox
        self._next = 0.0
        self._next_check = 0.0
        #: peers already reported as reading mailboxes the other way (said once each)
        self._reported: set[str] = set()

    def mine(self) -> Advert | None:
        node = this_node()
        if node is None:
            return None
        return Advert(node, time.time(), this_queues(),
                      [w.name for w in list_workflows()], [s.name for s in list_steps()],
                      direct_queue(self.prefix, node), self.mailbox)

    def advertise(self) -> None:
        now = time.time()
        if now < self._next:
            return
        advert = self.mine()
        if advert is not None:
            self.redis.hset(self.key, advert.node, advert.encode())
        self._next = now + BEAT_EVERY_S
        if advert is not None and now >= self._next_check:
            self._next_check = now + MAILBOX_CHECK_EVERY_S
            self._check_mailboxes(advert)

    def _check_mailboxes(self, mine: Advert) -> None:
        """Say, once per peer, that a live worker reads mailboxes the other way: a
        deployment whose workers disagree on the broker (some on the state Redis, some
        not) is misconfigured, and nothing else would show it until a run stood still."""
        for other in mixed_mailboxes(live_adverts(self.redis, self.prefix), mine):
            if other.node in self._reported:
                continue
            self._reported.add(other.node)
            logger.error("workers of this deployment read run mailboxes in two ways: give "
                         "every worker the same broker URL", this_worker=mine.node,
                         this_mailbox=mine.mailbox, other_worker=other.node,
                         other_mailbox=other.mailbox)

    def stop(self) -> None:
        """The worker is shutting down: not advertised any more (best effort)."""
        node = this_node()
        if node is not None and self._next:
            try:
                self.redis.hdel(self.key, node)
            except Exception:  # Redis gone: the entry goes stale on its own
                pass


def mixed_mailboxes(adverts: list[Advert], mine: Advert) -> list[Advert]:
    """The live workers whose mailbox path is not ``mine``'s (workers that do not say
    theirs are not counted)."""
    if mine.mailbox is None:
        return []
    return [a for a in adverts
            if a.node != mine.node and a.mailbox is not None and a.mailbox != mine.mailbox]


def live_adverts(redis: Any, prefix: str) -> list[Advert]:
    """The entries of workers heard from within ``STALE_AFTER_S`` (long-gone ones are
    deleted on the way)."""
    key, now = keys.worker_adverts(prefix), time.time()
    out: list[Advert] = []
    forget: list[str] = []
    for raw_node, raw in (redis.hgetall(key) or {}).items():
        node = raw_node.decode() if isinstance(raw_node, bytes) else str(raw_node)
        advert = Advert.decode(node, raw)
        if advert is None or advert.at < now - FORGET_AFTER_S:
            forget.append(node)
        elif advert.at >= now - STALE_AFTER_S:
            out.append(advert)
    if forget:
        redis.hdel(key, *forget)
    return sorted(out, key=lambda a: a.node)
