"""What an app sees of a run: ``RunInfo``, decoded from the run's record.

The record is the projection each turn's commit writes next to the journal; this
module only reads it, so the sync client, ``pyworkflow.client.aio`` and the CLI share one
decoding.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import asdict, dataclass, field
from typing import Any

from . import serialization

TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled", "continued_as_new"})

#: Statuses after which a run does nothing more by itself: terminal, or parked until an
#: operator acts. Waiting for a run ends at one of these.
SETTLED_STATUSES = TERMINAL_STATUSES | {"parked"}


class _Awaitable:
    """Lets a synchronous result also be awaited (``await start(...)`` keeps working for
    code written against the product we replace). Hashed by identity, so
    ``asyncio.gather`` (which keys its awaitables in a dict) accepts these values."""

    __hash__ = object.__hash__

    def __await__(self) -> Generator[Any, None, Any]:
        if False:  # pragma: no cover - makes this a generator
            yield
        return self


class RunId(str, _Awaitable):
    """A run id (a ``str``) that can also be awaited.

    ``created`` tells whether the call that returned it started the run: False when a
    start with an idempotency key returned the run the key already named. An attribute
    rather than another return value, so ``start()`` still returns a plain run id to
    every caller written before it (the CLI reads it to say "existing run")."""

    __hash__ = str.__hash__
    created: bool = True

    @classmethod
    def existing(cls, run_id: str) -> RunId:
        """The id of a run this call did not start (an idempotent repeat)."""
        found = cls(run_id)
        found.created = False
        return found


class AwaitableList(list[Any], _Awaitable):
    """A list that can also be awaited (compared by value, hashed by identity)."""

    __hash__ = object.__hash__  # type: ignore[assignment,misc]


@dataclass(eq=False)
class RunInfo(_Awaitable):
    """A run's state as its last commit left it. Compared and hashed by identity; use
    ``to_dict()`` to compare contents."""

    run_id: str
    workflow: str
    status: str
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    error: dict[str, Any] | None = None
    created_at: float | None = None
    updated_at: float | None = None
    parent_run_id: str | None = None
    waiting_on: list[str] = field(default_factory=list)
    finished_at: float | None = None
    #: continue-as-new: the run this one continued, and the run that continues it
    continued_from: str | None = None
    continued_to: str | None = None
    #: why a run that has not begun waits (``waiting for a slot: customer_id=42, 5 of 5
    #: held``: its workflow's concurrency limit, ``pyworkflow.flow``)
    waiting_for: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def settled(self) -> bool:
        """Finished, or parked until an operator acts: nothing more happens by itself."""
        return self.status in SETTLED_STATUSES

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["args"] = serialization.encode(self.args)
        data["kwargs"] = serialization.encode(self.kwargs)
        data["result"] = serialization.encode(self.result)
        return data


def _loads(raw: bytes | None, default: Any = None) -> Any:
    return default if raw is None else serialization.loads(raw)


def run_info_from_record(run_id: str, rec: dict[bytes, bytes]) -> RunInfo:
    """Decode a run's record hash (bytes to bytes, as redis-py returns it)."""
    def f(name: str) -> bytes | None:
        return rec.get(name.encode())

    def ts(name: str) -> float | None:
        raw = f(name)
        return float(raw) if raw else None

    parent = f("parent_run_id")
    return RunInfo(
        run_id=run_id, workflow=(f("workflow") or b"?").decode(),
        status=(f("status") or b"pending").decode(),
        args=_loads(f("args"), []), kwargs=_loads(f("kwargs"), {}),
        result=_loads(f("result")), error=json.loads(f("error") or b"null"),
        created_at=ts("created_at"), updated_at=ts("updated_at"),
        parent_run_id=parent.decode() if parent else None,
        waiting_on=json.loads(f("waiting_on") or b"[]"), finished_at=ts("finished_at"),
        continued_from=_text(f("continued_from")), continued_to=_text(f("continued_to")),
        waiting_for=_text(f("waiting_for")))


def _text(raw: bytes | None) -> str | None:
    return raw.decode() if raw else None


def values_from_record(rec: dict[bytes, bytes]) -> dict[str, Any]:
    """The values a run has published (``set_value``), decoded: key -> latest value.

    The record's ``values`` field is a JSON object of encoded values, rewritten whole
    by the commit of each ``set_value``; a run that published nothing has none.
    """
    raw = rec.get(b"values")
    if not raw:
        return {}
    return {key: serialization.decode(value) for key, value in json.loads(raw).items()}
