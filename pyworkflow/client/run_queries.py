"""The client's decisions that need no I/O: the pure halves of its operations.

The operations themselves (``pyworkflow.client.core``, driven by the sync client
and by ``pyworkflow.client.aio``) decide here which records a listing keeps, how long a
wait blocks, what an event looks like to an app, what a retry sends and what a
signal message holds: small functions, each testable without Redis.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from .. import ids, limits, serialization
from ..errors import (
    RunFinishedError,
    RunNotFoundError,
    ValueNotSetError,
    WorkflowCancelledError,
    WorkflowFailedError,
)
from ..run_info import SETTLED_STATUSES, RunInfo, run_info_from_record, values_from_record
from ..wire import SignalSent, encode

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


def check_run_id(run_id: str) -> str:
    """``run_id`` if it can name a run (``limits.is_id_form``: 1 to
    ``limits.MAX_ID_CHARS`` printable characters); else the ``RunNotFoundError`` an
    unknown run gets, raised before Redis is asked (its message shows the start of the
    id only, ``.run_id`` keeps all of it). Every operation that takes a run id begins
    here, so both faces (and the CLI and dashboard on them) answer alike."""
    if not limits.is_id_form(run_id):
        error = RunNotFoundError(run_id)
        error.args = (f"no run with id {limits.shown(run_id)}",)
        raise error
    return run_id


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
    return block_until(deadline, f"run {info.run_id} is still {info.status} after {timeout}s")


def block_until(deadline: float | None, timed_out: str) -> int:
    """How long the next blocking read may wait before ``deadline``; ``TimeoutError``
    (with the message ``timed_out``) once it has passed."""
    if deadline is None:
        return WAKE_CHECK_MS
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError(timed_out)
    return max(1, min(WAKE_CHECK_MS, int(left * 1000)))


# -- signals and published values --------------------------------------------------------
def signal_message(name: str, payload: Any, signal_id: str | None) -> tuple[str, dict[str, Any]]:
    """The ``signal`` mailbox message for ``send_signal``: ``(msg_id, payload)``.

    Everything is checked before anything is sent, with the limits the worker applies
    (``pyworkflow.limits``): the name and the id (1 to 200 printable characters), the
    payload (JSON through the project's codec, within the input limits). The message id
    is the signal id, so an app that retries a send with its own ``signal_id`` delivers
    one signal, not two.
    """
    limits.check_signal_name(name)
    if signal_id is not None:
        limits.check_signal_id(signal_id)
    what = f"signal {name!r} payload"
    encoded = serialization.encode(payload, path=what)
    serialization.check_limits(encoded, what)
    sid = signal_id or ids.new_signal_id()
    return sid, encode(SignalSent(name=name, payload=encoded, signal_id=sid))


def check_signal_target(info: RunInfo) -> None:
    """A finished run takes no signal: refused, so the app learns it was not delivered.
    (A parked run does: the signal waits in its journal until an operator's retry.)"""
    if info.finished:
        raise RunFinishedError(info.run_id, info.status, "a signal")


def check_value_key(key: str) -> None:
    if not isinstance(key, str) or not key:
        raise TypeError(f"a value's key is a non-empty string, not {key!r}")


def value_in_record(run_id: str, key: str, rec: dict[bytes, bytes],
                    waiting: bool) -> tuple[bool, Any]:
    """``(True, value)`` when the run has published ``key``; ``(False, None)`` when a
    wait for it should go on. Raises ``ValueNotSetError`` when there is nothing to wait
    for: no wait was asked (``waiting`` False), or the run has settled without it."""
    values = values_from_record(rec)
    if key in values:
        return True, values[key]
    info = run_info_from_record(run_id, rec)
    if not waiting:
        raise ValueNotSetError(run_id, key, f" (it is {info.status})")
    if info.status in SETTLED_STATUSES:
        raise ValueNotSetError(run_id, key, f" and it is {info.status}")
    return False, None


def value_timeout_text(run_id: str, key: str, timeout: float | None) -> str:
    return f"run {run_id} has not set a value {key!r} within {timeout}s"


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
    """A settled run's result; ``WorkflowFailedError`` if it did not complete
    (``WorkflowCancelledError``, its subclass, if it was cancelled). Every face
    (sync, aio, the in-process runtimes' handles) raises through here."""
    if info.status != "completed":
        err = info.error or {}
        cls = WorkflowCancelledError if info.status == "cancelled" else WorkflowFailedError
        raise cls(info.run_id, err.get("type", info.status), err.get("message", ""))
    return info.result
