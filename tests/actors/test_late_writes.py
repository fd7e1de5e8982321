"""A turn that lost its actor writes nothing back: its writes may arrive late.

A worker cut off by a network partition goes on with its turn; when the cable is
back, Redis receives what it wrote meanwhile, long after another worker took the
actor over (``tests/worker/test_partitions.py`` runs the whole story with real workers).
Whatever such a turn does on losing the actor must be fenced by its token or be
nothing at all; these are the two give-backs that once were neither.
"""

from __future__ import annotations

import uuid
from typing import Any

from actors import Message
from actors.fast.in_hand import HeldMessage, InHand
from actors.redis_list_reader import RedisListReader


def _nothing(pipe: Any) -> None:
    """What a turn queues beside a take: nothing, here."""


def test_a_batch_given_back_after_the_actor_was_taken_over_stays_out(rt: Any) -> None:
    keys = rt.system.actor_keys(f"late-{uuid.uuid4().hex[:8]}")
    token = uuid.uuid4().hex
    rt.redis.set(keys.activation, token, px=60_000)
    rt.system.mailbox.put(keys.mailbox, Message("ping", keys.actor_id, {}))
    reader = RedisListReader(rt.system, keys)
    taken = reader.take(token, 10, _nothing)
    assert len(taken) == 1
    # Another worker takes the actor over (its lease ran out) and handles the batch:
    # recover.lua put the 'taken' list back and its commit deleted it.
    rt.redis.set(keys.activation, "the-new-owner", px=60_000)
    rt.redis.delete(keys.taken)
    reader.give_back(taken)  # the old turn's write, arriving late
    assert rt.redis.llen(keys.mailbox) == 0
    assert not rt.redis.exists(keys.taken)


def test_a_message_in_hand_is_not_published_again_when_the_actor_is_lost(rt: Any) -> None:
    keys = rt.system.actor_keys(f"late-{uuid.uuid4().hex[:8]}")
    held = HeldMessage(Message("ping", keys.actor_id, {}), keys.inhand)
    # The begin stored the message in the in-hand slot: whoever takes the actor over
    # puts it back from there (``stranded``), so letting go publishes nothing.
    InHand(rt.system.mailbox, keys.mailbox).let_go([held])
    assert rt.redis.llen(keys.mailbox) == 0
    assert held.acknowledged
