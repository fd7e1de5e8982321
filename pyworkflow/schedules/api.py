"""What apps and the CLI call: create, change, inspect schedules.

Each call checks what it can before anything is written (the workflow exists, the
arguments fit its signature and encode as JSON, the cron expression, timezone and
route are valid: :func:`build_spec`) and then sends one message to the schedule's
actor, which decides and journals. ``create_schedule`` also writes the schedule's
first record and index entry, so ``get_schedule`` and ``list_schedules`` see it at
once; from then on the actor's projection keeps the record.

Every input is bounded (:mod:`.limits`). ``backfill_schedule`` counts the range's
firings before sending anything (walking at most ``MAX_BACKFILL + 1``) and refuses a
range in the future or with more than ``MAX_BACKFILL`` firings; it returns how many
firings it sent, 0 (and nothing sent) when the range holds none. ``delete_schedule``
can wait until the actor has deleted the schedule and says whether it has: the
index entry goes once the record says so, never before (a schedule still firing
stays listed).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from typing import Any

from .. import ids, keys
from .._start_plan import encode_arguments, route_of, workflow_def
from ..worker._runtime import runtime
from .errors import (
    InvalidScheduleError,
    ScheduleExistsError,
    ScheduleNotFoundError,
    ScheduleParkedError,
)
from .info import ScheduleInfo
from .limits import MAX_BACKFILL, MAX_NOTE_LENGTH
from .spec import ScheduleSpec, check_instant, check_schedule_id, epoch_ms, interval_seconds

#: Statuses of a schedule that exists (a record in any other is gone, or never was).
_LIVE = ("active", "paused", "error")

_UNSET: Any = object()


def build_spec(workflow: Any, *, cron: str | None = None, interval: Any = None,
               args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None,
               overlap: str = "skip", timezone: str = "UTC", start_at: Any = None,
               end_at: Any = None, jitter: Any = None, queue: str | None = None,
               priority: int | None = None) -> ScheduleSpec:
    """A checked spec; raises InvalidScheduleError, TypeError or SerializationError.

    Its runs' route is decided here by ``start()``'s own decision (``route_of``:
    ``queue``/``priority`` if given, else what the workflow declares, else the default),
    once, in the process that has the workflow: the schedule's actor may turn on a
    worker without the workflow's code, and its firings must not depend on which."""
    defn = workflow_def(workflow)
    enc_args, enc_kwargs = encode_arguments(defn, tuple(args), dict(kwargs or {}))
    try:
        route = route_of(defn, queue, priority)
    except ValueError as exc:
        raise InvalidScheduleError(str(exc)) from None
    return ScheduleSpec(
        workflow=defn.name, args=enc_args, kwargs=enc_kwargs, cron=cron,
        interval_s=None if interval is None else interval_seconds(interval),
        timezone=timezone, overlap=overlap, start_at_ms=epoch_ms(start_at),
        end_at_ms=epoch_ms(end_at),
        jitter_s=None if jitter is None else interval_seconds(jitter),
        **ScheduleSpec.route_fields(route)).check()


def create_schedule(workflow: Any, *, cron: str | None = None, interval: Any = None,
                    args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None,
                    schedule_id: str | None = None, overlap: str = "skip",
                    timezone: str = "UTC", start_at: Any = None, end_at: Any = None,
                    jitter: Any = None, queue: str | None = None,
                    priority: int | None = None) -> str:
    """Start ``workflow`` on ``cron`` (in ``timezone``) or every ``interval`` (``"5m"``,
    seconds, a timedelta); returns the schedule id (``sched-...``). ``overlap`` is what
    a firing does while the previous run is still going (see ``overlap.py``).
    ``queue``/``priority``: its runs' route, over what the workflow declares, as for
    ``start()`` (every firing's run, the timer's, a trigger's or a backfill's, takes it)."""
    spec = build_spec(workflow, cron=cron, interval=interval, args=args, kwargs=kwargs,
                      overlap=overlap, timezone=timezone, start_at=start_at, end_at=end_at,
                      jitter=jitter, queue=queue, priority=priority)
    sid = ids.schedule_id(schedule_id) if schedule_id else ids.new_schedule_id(spec.workflow)
    check_schedule_id(sid)
    rt = runtime()
    record = rt.actor_keys(sid).record
    if _status(rt.redis.hget(record, "status")) in _LIVE:
        raise ScheduleExistsError(sid)
    now = time.time()
    first = {"schedule_id": sid, "status": "active", "workflow": spec.workflow,
             "spec": json.dumps(spec.to_dict()), "describe": spec.describe(),
             "created_at": repr(now), "updated_at": repr(now)}
    # The index first: an id in it without a record is skipped by list_schedules, and
    # the two keys live in different slots on a cluster (no transaction spans them).
    rt.redis.zadd(keys.schedules_index(rt.settings.key_prefix), {sid: now})
    rt.redis.hset(record, mapping=first)
    rt.system.send(sid, "create", {"spec": spec.to_dict()})
    return sid


def declare_schedule(sid: str, spec: ScheduleSpec) -> None:
    """Make the schedule ``sid`` exist with ``spec`` (``@scheduled_workflow``): one message
    per spec, so every process may declare it and only a change of spec updates it."""
    rt = runtime()
    rt.redis.zadd(keys.schedules_index(rt.settings.key_prefix), {sid: time.time()}, nx=True)
    rt.system.send(sid, "declare", {"spec": spec.to_dict()},
                   msg_id=ids.schedule_declare_message_id(sid, spec.digest()))


def get_schedule(schedule_id: str) -> ScheduleInfo:
    sid = ids.schedule_id(schedule_id)
    raw = runtime().redis.hgetall(runtime().actor_keys(sid).record)
    if not raw:
        raise ScheduleNotFoundError(sid)
    return ScheduleInfo.read(sid, raw)


#: The most schedules one ``list_schedules`` call reads (``schedules list``, the
#: dashboard's schedules page): past it the list says how many it left out.
MAX_LISTED = 10_000
#: Schedule records read per round trip.
LIST_CHUNK = 500


class ScheduleList(list[ScheduleInfo]):
    """What ``list_schedules`` returns: a plain list of the schedules read, plus
    ``indexed`` (how many schedules the index holds, deleted ones not yet swept
    included) and ``unread`` (how many of them were not read, past ``MAX_LISTED``:
    0 unless ``truncated``)."""

    indexed: int = 0
    unread: int = 0

    @property
    def truncated(self) -> bool:
        return self.unread > 0


def list_schedules(status: str | None = None, *, newest_first: bool = False) -> ScheduleList:
    """The schedules that were not deleted, oldest first (``newest_first``: newest
    first), at most ``MAX_LISTED`` of them: the oldest (or the newest) in the index;
    ``.unread`` says how many more it holds (``status``: only those, among the ones
    read). A record that cannot be read is listed as status ``error`` (see ``info``)."""
    rt = runtime()
    index = keys.schedules_index(rt.settings.key_prefix)
    with rt.redis.pipeline(transaction=False) as pipe:
        pipe.zcard(index)
        (pipe.zrevrange if newest_first else pipe.zrange)(index, 0, MAX_LISTED - 1)
        indexed, raw_ids = pipe.execute()
    sids = [s.decode() if isinstance(s, bytes) else s for s in raw_ids]
    found: list[ScheduleInfo] = []
    for start in range(0, len(sids), LIST_CHUNK):
        chunk = sids[start:start + LIST_CHUNK]
        with rt.redis.pipeline(transaction=False) as pipe:
            for sid in chunk:
                pipe.hgetall(rt.actor_keys(sid).record)
            records = pipe.execute()
        found.extend(ScheduleInfo.read(sid, raw)
                     for sid, raw in zip(chunk, records, strict=True) if raw)
    gone = [i.schedule_id for i in found if i.status == "deleted"]
    if gone:  # deleted by its actor: the index entry is no longer needed
        rt.redis.zrem(index, *gone)
    listed = ScheduleList(i for i in found
                          if i.status != "deleted" and (status is None or i.status == status))
    listed.indexed = int(indexed)
    listed.unread = max(0, int(indexed) - len(sids))
    return listed


def pause_schedule(schedule_id: str, note: str | None = None) -> None:
    """No firing starts a run until resumed; runs already going go on."""
    if note is not None and len(note) > MAX_NOTE_LENGTH:
        raise InvalidScheduleError(f"a pause note has at most {MAX_NOTE_LENGTH} characters")
    _send(schedule_id, "pause", {"note": note})


def resume_schedule(schedule_id: str) -> None:
    """Fire again from now on; firings missed while paused are not run. Also ends the
    ``error`` status of a schedule parked after its turns died (fix the cause first)."""
    _send(schedule_id, "resume", {}, allowed=_LIVE)


def trigger_schedule(schedule_id: str, overlap: str | None = None) -> int:
    """Fire now, as if a firing were due (under the schedule's overlap policy unless
    ``overlap`` says otherwise; ``allow_all`` always starts a run). Returns how many
    firings it queued: 1 (a schedule it cannot fire is refused with an error). Whether
    that firing starts a run is the actor's decision under the policy (``skip`` skips
    it while a run is going), made after this returns. It returned None before; an
    int keeps every caller that ignored it working."""
    _send(schedule_id, "trigger", {"overlap": _policy(overlap)})
    return 1


def backfill_schedule(schedule_id: str, start: Any, end: Any,
                      overlap: str | None = "allow_all") -> int:
    """Start one run for every firing in ``[start, end]`` (datetimes, ISO strings or
    epoch seconds); a firing that already has its run is not started again. Returns
    how many firings the range holds (and were sent); 0 sends nothing.

    Refused (:class:`InvalidScheduleError`, nothing sent): an end before the start or
    after now (later firings are the timer's), a bound outside 1970..2200, or a range
    with more than :data:`~.limits.MAX_BACKFILL` firings (split it)."""
    start_ms, end_ms = epoch_ms(start), epoch_ms(end)
    if start_ms is None or end_ms is None or end_ms < start_ms:
        raise InvalidScheduleError("a backfill needs a start and an end after it")
    check_instant("the backfill's start", start_ms)
    check_instant("the backfill's end", end_ms)
    now_ms = int(time.time() * 1000)
    if end_ms > now_ms:
        raise InvalidScheduleError(
            f"the backfill's end {_iso(end_ms)} is in the future (now: {_iso(now_ms)}); "
            "firings from now on are the schedule's timer's: end the range at now at most")
    policy = _policy(overlap)
    info = _live(schedule_id)
    spec = info.spec
    if spec.interval_s is not None and spec.start_at_ms is None and spec.anchor_ms is None:
        spec = spec.updated(anchor_ms=int(info.created_at * 1000))  # before its first turn
    found, exact = spec.count(start_ms, end_ms, MAX_BACKFILL)
    if found > MAX_BACKFILL:
        many = f"{found:,}" if exact else f"more than {MAX_BACKFILL:,}"
        raise InvalidScheduleError(
            f"{_iso(start_ms)} to {_iso(end_ms)} holds {many} firings of {info.schedule_id} "
            f"({spec.describe()}); a backfill starts at most {MAX_BACKFILL:,}: split the "
            "range")
    if found:
        _send(info.schedule_id, "backfill",
              {"start_ms": start_ms, "end_ms": end_ms, "overlap": policy})
    return found


def delete_schedule(schedule_id: str, wait: float = 0.0) -> bool:
    """Stop the schedule for good and drop it from the list; its runs go on. Works in
    any status (``error`` too). Waits up to ``wait`` seconds for its actor to delete
    it; returns whether it has (False: the message waits for a worker)."""
    sid = _send(schedule_id, "delete", {}, allowed=_LIVE)
    rt = runtime()
    record = rt.actor_keys(sid).record
    deadline = time.monotonic() + wait
    while True:
        if _status(rt.redis.hget(record, "status")) == "deleted":
            rt.redis.zrem(keys.schedules_index(rt.settings.key_prefix), sid)
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def update_schedule(schedule_id: str, *, cron: Any = _UNSET, interval: Any = _UNSET,
                    args: Any = _UNSET, kwargs: Any = _UNSET, overlap: Any = _UNSET,
                    timezone: Any = _UNSET, start_at: Any = _UNSET, end_at: Any = _UNSET,
                    jitter: Any = _UNSET, queue: Any = _UNSET, priority: Any = _UNSET) -> None:
    """Change what was given; the rest stays. Giving ``cron`` drops the interval and the
    other way round. The next firing is computed anew from now. The route stays as it
    was decided at creation unless ``queue``/``priority`` is given (None: what the
    workflow declares now)."""
    current = _live(schedule_id)
    spec = current.spec
    given = {k: v for k, v in {"cron": cron, "interval": interval, "overlap": overlap,
                               "timezone": timezone, "start_at": start_at, "end_at": end_at,
                               "jitter": jitter}.items() if v is not _UNSET}
    if "cron" in given and "interval" not in given:
        given["interval"] = None
    if "interval" in given and "cron" not in given:
        given["cron"] = None
    new = build_spec(
        spec.workflow, cron=given.get("cron", spec.cron),
        interval=given.get("interval", spec.interval_s),
        args=spec.args if args is _UNSET else args,
        kwargs=spec.kwargs if kwargs is _UNSET else kwargs,
        overlap=given.get("overlap", spec.overlap), timezone=given.get("timezone", spec.timezone),
        start_at=given["start_at"] if "start_at" in given else _secs(spec.start_at_ms),
        end_at=given["end_at"] if "end_at" in given else _secs(spec.end_at_ms),
        jitter=given.get("jitter", spec.jitter_s),
        queue=spec.route.queue if queue is _UNSET else queue,
        priority=spec.route.priority if priority is _UNSET else priority)
    changes = {k: v for k, v in new.to_dict().items()
               if k != "anchor_ms" and v != getattr(spec, k)}
    if changes:
        _send(current.schedule_id, "update", {"changes": changes})


# -- helpers --------------------------------------------------------------------------------
def _send(schedule_id: str, kind: str, payload: dict[str, Any],
          allowed: tuple[str, ...] = ("active", "paused")) -> str:
    sid = ids.schedule_id(schedule_id)
    rt = runtime()
    record = rt.actor_keys(sid).record
    status = _status(rt.redis.hget(record, "status"))
    if status == "error" and status not in allowed:
        raise ScheduleParkedError(sid, _status(rt.redis.hget(record, "error")))
    if status not in allowed:
        raise ScheduleNotFoundError(sid)
    rt.system.send(sid, kind, payload)
    return sid


def _live(schedule_id: str) -> ScheduleInfo:
    """The schedule's record, refused when it is deleted or parked."""
    info = get_schedule(schedule_id)
    if info.status == "error":
        raise ScheduleParkedError(info.schedule_id, info.error)
    if info.status not in ("active", "paused"):
        raise ScheduleNotFoundError(info.schedule_id)
    return info


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw or "")


def _policy(overlap: str | None) -> str | None:
    if overlap is not None:
        ScheduleSpec(workflow="", args=[], kwargs={}, interval_s=60.0, overlap=overlap).check()
    return overlap


def _secs(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000
