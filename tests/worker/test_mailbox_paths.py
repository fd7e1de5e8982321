"""Workers of one deployment that read run mailboxes in two ways are reported.

A worker whose broker is the state Redis reads mailboxes from the runtime's own lists;
one with another broker reads them through Kombu queues. The two keep a taken message
in different places, so a deployment that mixes them can leave a run standing still
(seen once in a chaos run). Nothing stops such a deployment from starting, so each
worker says what it uses in its advert and logs an error, once per peer, when a live
worker uses the other path.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from structlog.testing import capture_logs

from pyworkflow.worker.adverts import (
    MAILBOX_BROKER,
    MAILBOX_REDIS,
    NODE_ENV,
    Advert,
    Adverts,
    live_adverts,
    mixed_mailboxes,
)

pytestmark = pytest.mark.redis

MIXED = "workers of this deployment read run mailboxes in two ways"


def _advertise_as(adverts: Adverts, node: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NODE_ENV, node)
    adverts._next = adverts._next_check = 0.0  # due now
    adverts.advertise()


def test_a_peer_on_the_other_mailbox_path_is_reported_once(
        rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = f"mbx{uuid.uuid4().hex[:6]}"
    on_redis = Adverts(rt.redis, prefix, MAILBOX_REDIS)
    on_broker = Adverts(rt.redis, prefix, MAILBOX_BROKER)
    with capture_logs() as logs:
        _advertise_as(on_redis, "w-redis", monkeypatch)  # alone: nothing to say
        assert [e for e in logs if e["event"].startswith(MIXED)] == []
        _advertise_as(on_broker, "w-broker", monkeypatch)
        _advertise_as(on_broker, "w-broker", monkeypatch)  # said once, not every check
    said = [e for e in logs if e["event"].startswith(MIXED)]
    assert len(said) == 1, said
    assert said[0]["other_worker"] == "w-redis"
    assert (said[0]["this_mailbox"], said[0]["other_mailbox"]) == ("broker", "redis")
    live = {a.node: a.mailbox for a in live_adverts(rt.redis, prefix)}
    assert live == {"w-redis": "redis", "w-broker": "broker"}
    rt.redis.delete(on_redis.key)


def test_workers_on_one_path_or_not_saying_theirs_are_not_reported() -> None:
    mine = Advert("a", 0.0, mailbox=MAILBOX_REDIS)
    same = Advert("b", 0.0, mailbox=MAILBOX_REDIS)
    older = Advert("c", 0.0)  # a worker from before the field
    assert mixed_mailboxes([mine, same, older], mine) == []
    assert mixed_mailboxes([mine, Advert("d", 0.0, mailbox=MAILBOX_BROKER)],
                           Advert("a", 0.0)) == []
    decoded = Advert.decode("b", same.encode())
    assert decoded is not None and decoded.mailbox == MAILBOX_REDIS
