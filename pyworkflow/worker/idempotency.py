"""Idempotency keys: one key, one run, for as long as the key is kept.

``start(wf, ..., idempotency_key=K)`` starts a run the first time and returns the
same run id every time after, while that run is live (what DBOS and Temporal do
with a workflow id). Once the run has ended the caller chooses, per call
(``if_finished``):

* ``"return"`` (default): the ended run is returned, as before;
* ``"start_new"``: the key moves to a new run (Temporal's ``ALLOW_DUPLICATE``);
* ``"refuse"``: :class:`~pyworkflow.errors.IdempotencyKeyUsedError`.

A key is kept while its run is live and for ``idempotency_retention`` (default 24 h)
after the run ends, then deleted by the workers' maintenance loop
(:class:`IdempotencyRetention`), so keys do not pile up in Redis forever.

A key whose run record does not exist (its start failed and was undone, or the run
was purged) is free to take. A run whose record says ``pending`` and whose journal
is empty never got its start message (the caller died between writing the record
and sending); the next start with the same key sends it again (``start_message``),
under the same message id, so a start that did arrive is not doubled.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

from .. import keys
from ..errors import IdempotencyKeyUsedError
from ..ids import start_message_id
from ..run_info import TERMINAL_STATUSES, RunInfo
from ..wire import StartRun, encode
from ._scripts import script

IfFinished = Literal["return", "start_new", "refuse"]
IF_FINISHED_CHOICES: tuple[IfFinished, ...] = ("return", "start_new", "refuse")
DEFAULT_RETENTION_S = 24 * 3600.0

#: The scripts (``pyworkflow.worker._scripts``) that claim and let go of a key.
CLAIM_SCRIPT = "idempotency_claim"
RELEASE_SCRIPT = "idempotency_release"

#: How often retention looks again at a key whose run is still live.
_LIVE_RECHECK_S = 3600.0
_SWEEP_BATCH = 100


def check_if_finished(value: str) -> IfFinished:
    if value not in IF_FINISHED_CHOICES:
        raise ValueError(f"if_finished must be one of {', '.join(IF_FINISHED_CHOICES)}; "
                         f"got {value!r}")
    return value


def holder_verdict(key: str, holder: RunInfo | None, if_finished: IfFinished) -> str:
    """What a start does about the run that holds ``key``: ``"return"`` it, or
    ``"replace"`` it with the new run. Raises when the caller refuses reuse."""
    if holder is None:
        return "replace"
    if not holder.finished:
        return "return"
    if if_finished == "refuse":
        raise IdempotencyKeyUsedError(key, holder.run_id, holder.status)
    return "replace" if if_finished == "start_new" else "return"


def start_message(run_id: str, record: dict[bytes, bytes]) -> dict[str, Any] | None:
    """The start message a ``pending`` run's record implies (``None`` if it is not
    pending): what a resend puts in the mailbox."""
    if record.get(b"status", b"pending") != b"pending" or b"workflow" not in record:
        return None
    return {"msg_id": start_message_id(run_id),
            "payload": encode(StartRun(workflow=record[b"workflow"].decode(),
                                       args=json.loads(record.get(b"args", b"[]")),
                                       kwargs=json.loads(record.get(b"kwargs", b"{}"))))}


def claim_args(prefix: str, key: str, run_id: str, expected_holder: str,
               retention_s: float) -> tuple[list[str], list[Any]]:
    """KEYS and ARGV of ``idempotency_claim.lua``."""
    review_at_ms = (time.time() + max(retention_s, _LIVE_RECHECK_S)) * 1000
    return ([keys.idempotency_key(prefix, key), keys.idempotency_index(prefix)],
            [run_id, expected_holder, review_at_ms, key])


def release_args(prefix: str, key: str, run_id: str) -> tuple[list[str], list[Any]]:
    """KEYS and ARGV of ``idempotency_release.lua``."""
    return ([keys.idempotency_key(prefix, key), keys.idempotency_index(prefix)], [run_id, key])


class IdempotencyRetention:
    """The maintenance job that deletes keys ``retention_s`` after their run ended.

    The index scores each key with when to look at it next; a sweep looks at the
    few that are due (one ZRANGEBYSCORE when none is), so every worker can run it
    every second. A key of a live run is looked at again later; deleting is guarded
    by the run id, so a key that moved to a new run meanwhile is kept.
    """

    def __init__(self, client: Any, prefix: str, retention_s: float,
                 record_key: Any) -> None:
        self._client = client
        self._prefix = prefix
        self._retention_s = retention_s
        self._record_key = record_key
        self._release = script(client, RELEASE_SCRIPT)

    def sweep(self, now: float | None = None) -> int:
        """Delete the due keys of ended runs; returns how many were deleted."""
        now = time.time() if now is None else now
        index = keys.idempotency_index(self._prefix)
        due = self._client.zrangebyscore(index, "-inf", now * 1000, start=0, num=_SWEEP_BATCH)
        deleted = 0
        for raw_key in due:
            key = raw_key.decode()
            holder = self._client.get(keys.idempotency_key(self._prefix, key))
            if holder is None:
                self._client.zrem(index, key)
                continue
            run_id = holder.decode()
            rec = self._client.hmget(self._record_key(run_id), "status", "finished_at")
            status, finished = rec[0], rec[1]
            ended = status is not None and status.decode() in TERMINAL_STATUSES
            if status is None or (ended and float(finished or 0) + self._retention_s <= now):
                largs, aargs = release_args(self._prefix, key, run_id)
                deleted += int(self._release(keys=largs, args=aargs))
                continue
            next_look = (float(finished or now) + self._retention_s if ended
                         else now + min(self._retention_s, _LIVE_RECHECK_S))
            self._client.zadd(index, {key: next_look * 1000}, xx=True)
        return deleted
