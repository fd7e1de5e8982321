"""A network partition for integration tests: a worker in its own network namespace.

The links and the partition itself (``Link``, ``Partition``, ``partition``,
``unshare_available``) are ``ops/chaos/partition.py``, shared with the chaos run;
this module adds ``IsolatedWorker``, a test worker (``tests/_workers.Worker``)
started under ``unshare -rn`` so it reaches Redis and the broker only through a
``Partition``'s links, and what the partition tests check after the heal.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

import pyworkflow
from ops.chaos.partition import unshare_available, unshare_prefix
from tests._workers import Worker

#: the workflows the partition tests' workers load
MODULE = "tests.partition_workflows"
#: how long a partition lasts, as the issue that asked for these tests specifies
PARTITION_S = 60.0


class IsolatedWorker(Worker):
    """A ``pyworkflow worker run`` in its own network namespace (``unshare -rn``),
    reaching Redis and the broker only through a ``Partition``'s links."""

    command_prefix = tuple(unshare_prefix())


def events(run_id: str) -> list[dict[str, Any]]:
    return pyworkflow.get_workflow_events(run_id)


def assert_nothing_doubled(run_id: str) -> None:
    found = events(run_id)
    kinds = Counter(e["type"] for e in found)
    assert kinds["workflow_started"] == 1, kinds
    assert kinds["workflow_completed"] == 1, kinds
    done_calls = Counter(e.get("call_id") for e in found if e["type"] == "step_completed")
    assert all(n == 1 for n in done_calls.values()), done_calls
    fired = Counter(e.get("call_id") for e in found if e["type"] == "sleep_completed")
    assert all(n == 1 for n in fired.values()), fired
    seqs = [e["seq"] for e in found]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs


def queues_drained(rt: Any, run_ids: Sequence[str]) -> bool:
    """No message for these runs waits anywhere under this session's prefix (their
    mailboxes, the turn and step queues): the late messages the heal let through have
    all been taken and handled. Other tests' leftovers in the shared queues (the
    session's other modules ran in this process before) are not this test's."""
    for key in rt.redis.scan_iter(match=f"{rt.settings.key_prefix}*", count=1000):
        if rt.redis.type(key) != b"list" or not rt.redis.llen(key):
            continue
        name = key.decode(errors="replace")
        if any(run_id in name for run_id in run_ids):
            return False  # a mailbox of one of these runs
        for raw in rt.redis.lrange(key, 0, 999):
            if any(run_id.encode() in _body(raw) for run_id in run_ids):
                return False  # a turn or step task for one of them
    return True


def _body(raw: bytes) -> bytes:
    """A Kombu envelope's body, decoded when base64 (task arguments name their run)."""
    try:
        envelope = json.loads(raw)
        body = envelope["body"]
        if envelope.get("properties", {}).get("body_encoding") == "base64":
            return base64.b64decode(body)
        return str(body).encode()
    except (ValueError, KeyError, TypeError, AttributeError):
        return raw


def wait_out_the_partition(cut_at: float) -> None:
    # The fault's length is the test's input, not a wait for a condition: the isolated
    # worker must stay cut off for the whole of it.
    time.sleep(max(0.0, cut_at + PARTITION_S - time.monotonic()))


#: Both partition test modules' marks. quiet: the other worker must finish the runs
#: within the partition's 60 s, which includes a 30 s lease running out; beside three
#: other test processes on two cores it once took longer (a full run, the broker-only
#: cut). Beside the other partition test (mostly waiting) it keeps its margin.
MARKS = [pytest.mark.skipif(not unshare_available(),
                            reason="needs unprivileged user and network namespaces"),
         pytest.mark.slow, pytest.mark.quiet]
