"""Workflows and fault injection for ``repro_kill_window.py`` (see there).

Imported by a worker with ``REPRO_DIE_AT`` set, this module makes the worker
SIGKILL its own process group (as the chaos run does) at one exact point of a
turn, the first time that turn takes a mailbox message of kind ``REPRO_KIND``
(default ``start``) addressed to a child run:

* ``REPRO_DIE_AT=rpop`` (Kombu mailbox path): inside Kombu's ``basic_get``, after the message was
  popped from the mailbox list (``RPOP``) and before Kombu's ``QoS.append`` wrote
  it to the unacked hash;
* ``REPRO_DIE_AT=tag`` (Kombu mailbox path): right after ``Mailbox.take`` returned, before the turn
  recorded the delivery tags in the actor's in-flight list.

* ``REPRO_DIE_AT=taken``: on the Redis fast path (broker = the runtime's Redis),
  right after ``take.lua`` moved the batch into the actor's ``taken`` list;
* ``REPRO_DIE_AT=commit-reply-lost`` (no kill): the first commit that stages a
  ``Send`` of kind ``REPRO_KIND`` runs, then runs again, as redis-py's ``Retry``
  does when the reply of a script that did run is lost with its connection (a
  Redis restart); the second run finds the journal moved on;
* ``REPRO_DIE_AT=step-received``: when the worker has received a step task from
  the broker (Celery's ``task_received`` signal, in the worker's main process) and
  before a pool process starts it (so before the attempt holds its step lease).

A Redis key (``<prefix>:repro:fired``) makes it fire once per deployment.
"""

from __future__ import annotations

import json
import os
import signal
from typing import Any

from pyworkflow import start_child_workflow, step, workflow
from pyworkflow.ids import STEP_TASK
from pyworkflow.worker import _runtime

DIE_AT = os.environ.get("REPRO_DIE_AT", "")
KIND = os.environ.get("REPRO_KIND", "start")


@step()
async def repro_child_step(x: int) -> int:
    return x + 1


@workflow()
async def repro_child(x: int) -> int:
    return await repro_child_step(x)


@workflow()
async def repro_parent(x: int) -> int:
    return int(await start_child_workflow(repro_child, x)) * 2


def _target(raw_body: Any, routing_key: str) -> bool:
    if not routing_key.endswith(":mailbox"):
        return False
    try:
        body = json.loads(raw_body)
    except (TypeError, ValueError):
        return False
    payload = body.get("payload") or {}
    if KIND == "start":
        return bool(body.get("kind") == "start" and payload.get("parent"))
    return bool(body.get("kind") == KIND)


def _fire_once() -> bool:
    rt = _runtime.runtime()
    return bool(rt.redis.set(f"{rt.settings.key_prefix}:repro:fired", os.getpid(), nx=True))


def _die() -> None:
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _install() -> None:
    if DIE_AT == "rpop":
        from kombu.transport import redis as kombu_redis

        original_append = kombu_redis.QoS.append

        def append(self: Any, message: Any, delivery_tag: str) -> Any:
            if _target(message.body, message.delivery_info.get("routing_key", "")) \
                    and _fire_once():
                _die()
            return original_append(self, message, delivery_tag)

        setattr(kombu_redis.QoS, "append", append)  # noqa: B010
    elif DIE_AT == "tag":
        from actors import mailbox

        original_take = mailbox.Mailbox.take

        def take(self: Any, queue_name: str, limit: int) -> Any:
            taken = original_take(self, queue_name, limit)
            if any(_target(m.body, queue_name) for m in taken) and _fire_once():
                _die()
            return taken

        setattr(mailbox.Mailbox, "take", take)  # noqa: B010
    elif DIE_AT == "taken":
        from actors import redis_list_reader

        original_take_redis = redis_list_reader.RedisListReader.take

        def take_from_redis(self: Any, token: str, limit: int, also: Any) -> Any:
            taken = original_take_redis(self, token, limit, also)
            if any(_target(m.body, self.length_key) for m in taken) and _fire_once():
                _die()
            return taken

        setattr(redis_list_reader.RedisListReader, "take", take_from_redis)  # noqa: B010
    elif DIE_AT == "commit-reply-lost":
        from actors import journal

        original_commit = journal.Journal.commit

        def commit(self: Any, token: str, expected_seq: int, lease_ms: int, events: Any,
                   msg_ids: Any, effects: Any, record: Any = None) -> Any:
            out = original_commit(self, token, expected_seq, lease_ms, events, msg_ids,
                                  effects, record)
            if any(getattr(e, "kind", None) == KIND for _, e in effects) and _fire_once():
                # The commit ran, its reply was lost with the connection (a Redis
                # restart), and redis-py's Retry sent the same script again.
                return original_commit(self, token, expected_seq, lease_ms, events,
                                       msg_ids, effects, record)
            return out

        setattr(journal.Journal, "commit", commit)  # noqa: B010
    elif DIE_AT == "step-received":
        from celery.signals import task_received

        def on_received(sender: Any = None, request: Any = None, **_: Any) -> None:
            if request is not None and request.name == STEP_TASK and _fire_once():
                _die()

        task_received.connect(on_received, weak=False)


_install()
