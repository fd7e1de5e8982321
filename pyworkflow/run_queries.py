"""What the sync client and ``pyworkflow.aio`` decide without I/O, decided once.

The two clients are twins: the same flows (start, list, wait, cancel, retry), one
on ``redis``, one on ``redis.asyncio``. Only their Redis calls differ, so every
choice between those calls lives here: which records a listing keeps, how long a
wait blocks, what an event looks like to an app, what a retry sends.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from .errors import WorkflowFailedError
from .run_info import RunInfo, run_info_from_record

#: The most runs one ``list_workflow_runs`` call (or ``runs list --limit``) returns.
MAX_LIST_LIMIT = 10_000
#: A blocking read on a journal returns at least this often (ms), to re-check the
#: deadline and a record changed without an event (there is none today).
WAKE_CHECK_MS = 2_000
#: Where a blocking read starts on a journal that has no entry yet.
EMPTY_JOURNAL_TAIL = "0-0"


def check_limit(limit: int) -> int:
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIST_LIMIT:
        raise ValueError(f"limit must be an integer from 1 to {MAX_LIST_LIMIT}; got {limit!r}")
    return limit


def list_page(limit: int) -> int:
    """How many run ids a listing reads per round trip."""
    return max(limit, 100)


def take_matching(out: list[RunInfo], ids: Iterable[bytes], records: Iterable[dict[bytes, bytes]],
                  status: str | None, workflow: str | None, limit: int) -> None:
    """Append to ``out`` the runs of one page that pass the filters, up to ``limit``
    (a run whose record is gone, purged meanwhile, is skipped)."""
    for raw, rec in zip(ids, records, strict=True):
        if len(out) >= limit:
            return
        if not rec:
            continue
        info = run_info_from_record(raw.decode(), rec)
        if (status is None or info.status == status) and \
                (workflow is None or info.workflow == workflow):
            out.append(info)


def journal_tail(last: list[Any]) -> str:
    """The stream id a blocking read waits after, from ``XREVRANGE ... COUNT 1``."""
    return last[0][0].decode() if last else EMPTY_JOURNAL_TAIL


def wait_deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


def block_ms(info: RunInfo, deadline: float | None, timeout: float | None) -> int:
    """How long the next blocking read may wait; raises ``TimeoutError`` once the
    deadline has passed and the run is still not settled."""
    if deadline is None:
        return WAKE_CHECK_MS
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError(f"run {info.run_id} is still {info.status} after {timeout}s")
    return max(1, min(WAKE_CHECK_MS, int(left * 1000)))


def event_dict(seq: int, kind: str, ts: float, data: Any) -> dict[str, Any]:
    """A journal event as apps and the CLI see it."""
    return {"seq": seq, "type": kind, "timestamp": ts, "data": data}


def retry_message(info: RunInfo) -> str | None:
    """What an operator's retry does to a run in this state: ``"start"`` (re-send the
    start message of a ``pending`` run that may never have got it), ``"retry"`` (a
    parked or failed run), or nothing."""
    if info.status == "pending":
        return "start"
    if info.status in ("parked", "failed"):
        return "retry"
    return None


def result_of(info: RunInfo) -> Any:
    """A settled run's result; ``WorkflowFailedError`` if it did not complete."""
    if info.status != "completed":
        err = info.error or {}
        raise WorkflowFailedError(info.run_id, err.get("type", info.status),
                                  err.get("message", ""))
    return info.result
