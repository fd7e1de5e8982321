"""The client operations, written once for both faces: ``pyworkflow.client`` (sync) and
``pyworkflow.client.aio``.

Each operation is a generator that does no I/O itself. It yields a small request
(one Redis command, a pipeline of them, one of pyworkflow's scripts, or a call with
no asyncio API) and is sent the reply; an error is thrown back in at the ``yield``,
so an operation's own ``try``/``except`` (a start's undo) sees it as if it had made
the call. Its return value is the call's result. The faces only drive:
``pyworkflow.client`` on the sync Redis client, ``pyworkflow.client.aio`` on
``redis.asyncio`` (awaiting each request, and running the calls with no asyncio API
in a thread). So both faces take the same decisions, make the same round trips,
return the same types and raise the same errors: before, the two copies had drifted
(the async start took three more round trips than the sync one).

What counts as a call with no asyncio API (:class:`Offload`): a Kombu send through
the actor system, ``ActorSystem.deliver_held`` and the hook store. ``deliver_held``
is run whole rather than spelled out as requests: its one pipeline (the caller's
writes, the lease index, ``hand_over.lua``) goes through the actor system's own
script loader, and the turn task it publishes, with the hand-back should that
publish fail, is Kombu; written again here, it would be a second copy of the actor
runtime's hand-over to keep in step. In a thread from aio it costs what it costs
in the sync face: one Redis round trip and one publish.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeAlias, TypeVar

from actors import Message
from actors.sealed import merge, torn

from .. import (
    journal_dictionary,  # noqa: F401  (registers how runs' journals are sealed)
    keys,
)
from .._start_plan import StartPlan, plan_start
from ..errors import RunNotFoundError
from ..ids import RUN_ID_PREFIX, run_route
from ..routing import describe_need_wait, need_queue
from ..run_info import AwaitableList, RunId, RunInfo, run_info_from_record, values_from_record
from ..tracing import start_span
from ..wire import CancelRun, RetryRun, encode
from ..worker._runtime import Runtime
from ..worker._scripts import script
from ..worker.adverts import Advert
from ..worker.heartbeat import STALE_AFTER_S
from ..worker.idempotency import (
    CLAIM_SCRIPT,
    RELEASE_SCRIPT,
    IfFinished,
    check_if_finished,
    claim_args,
    holder_verdict,
    release_args,
    start_message,
)
from . import hooks
from .run_queries import (
    block_ms,
    block_until,
    check_limit,
    check_run_id,
    check_signal_target,
    check_value_key,
    event_dict,
    journal_tail,
    list_page,
    result_of,
    retry_message,
    signal_message,
    take_matching,
    value_in_record,
    value_timeout_text,
    wait_deadline,
)

T = TypeVar("T")


# -- requests -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Command:
    """One Redis command, named as redis-py's method (the same on both clients)."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def on(self, client: Any) -> Any:
        """Issue it on ``client`` (a client or a pipeline): the reply, or an awaitable."""
        return getattr(client, self.name)(*self.args, **self.kwargs)


def command(name: str, *args: Any, **kwargs: Any) -> Command:
    return Command(name, args, kwargs)


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Commands sent together (not a transaction): one round trip, a reply each."""

    commands: tuple[Command, ...]

    def queue_on(self, pipe: Any) -> None:
        for cmd in self.commands:
            cmd.on(pipe)

    def on(self, client: Any) -> Any:
        pipe = client.pipeline(transaction=False)
        self.queue_on(pipe)
        return pipe.execute()


@dataclass(frozen=True, slots=True)
class Script:
    """One of pyworkflow's Lua scripts (``pyworkflow.worker._scripts``), by EVALSHA."""

    name: str
    keys: list[str]
    args: list[Any]

    def on(self, client: Any) -> Any:
        return script(client, self.name)(keys=self.keys, args=self.args)


@dataclass(frozen=True, slots=True)
class Offload:
    """A call with no asyncio API (Kombu, the actor system, the hook store): made as
    is by the sync face, in a thread by aio."""

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def call(self) -> Any:
        return self.fn(*self.args, **self.kwargs)


Request: TypeAlias = Command | Pipeline | Script | Offload
#: An operation: yields requests, is sent their replies, returns its result.
Op: TypeAlias = Generator[Request, Any, T]


class Drive(Generic[T]):
    """One operation under way, for a face's loop: ``request`` is what it asks next
    (None once it has returned, into ``result``); ``reply`` or ``fail`` answers it."""

    def __init__(self, op: Op[T]) -> None:
        self._op = op
        self.request: Request | None = None
        #: set when ``request`` becomes None (until then, nothing to read)
        self.result: T = None  # type: ignore[assignment]
        self._resume(lambda: next(op))

    def reply(self, value: Any) -> None:
        self._resume(lambda: self._op.send(value))

    def fail(self, error: BaseException) -> None:
        """The request raised ``error``: raised in the operation, at its ``yield``
        (and out of here when the operation does not handle it)."""
        self._resume(lambda: self._op.throw(error))

    def _resume(self, step: Callable[[], Request]) -> None:
        try:
            self.request = step()
        except StopIteration as stop:
            self.request, self.result = None, stop.value


# -- reading a run ------------------------------------------------------------------------
def _record(rt: Runtime, run_id: str) -> Op[dict[bytes, bytes]]:
    rec: dict[bytes, bytes] = yield command("hgetall", rt.actor_keys(run_id).record)
    if not rec:
        raise RunNotFoundError(run_id)
    return rec


def _record_and_journal_length(rt: Runtime, run_id: str) -> Op[tuple[dict[bytes, bytes], int]]:
    """The record, and whether the journal holds anything (its stream's length, plus one
    for a sealed prefix: ``actors.sealed``)."""
    k = rt.actor_keys(run_id)
    rec, length, sealed = yield Pipeline((command("hgetall", k.record),
                                          command("xlen", k.journal),
                                          command("exists", k.sealed)))
    return rec, int(length) + int(sealed)


def _tail_and_record(rt: Runtime, run_id: str) -> Pipeline:
    """The journal's last entry, then the record: an event committed after the read
    of the record is after that tail, so a blocking read from it wakes for it."""
    k = rt.actor_keys(run_id)
    return Pipeline((command("xrevrange", k.journal, count=1), command("hgetall", k.record)))


def get_workflow_run(rt: Runtime, run_id: str) -> Op[RunInfo]:
    check_run_id(run_id)
    info = run_info_from_record(run_id, (yield from _record(rt, run_id)))
    if info.status == "pending" and not info.waiting_for and run_id.startswith(RUN_ID_PREFIX):
        info = yield from _unread_queue(rt, info)
    return info


def _unread_queue(rt: Runtime, info: RunInfo) -> Op[RunInfo]:
    """A run not begun whose queue no live worker reads says so at once: its start turn
    waits in that queue under a long lease (recovery would say it only after that), and
    an operator asking why it does not begin wants the answer now. Workers that
    advertise nothing (not started by ``worker run``) leave it unsaid."""
    need = need_queue(run_route(info.run_id).queue)
    (raw,) = yield Pipeline((command("hgetall", keys.worker_adverts(rt.settings.key_prefix)),))
    live = [a for a in (Advert.decode(node.decode() if isinstance(node, bytes) else str(node),
                                      entry) for node, entry in (raw or {}).items())
            if a is not None and a.at >= time.time() - STALE_AFTER_S]
    if not live or any(a.has(need) for a in live):
        return info
    return dataclasses.replace(info, waiting_for=describe_need_wait(need))


def get_values(rt: Runtime, run_id: str) -> Op[dict[str, Any]]:
    check_run_id(run_id)
    return values_from_record((yield from _record(rt, run_id)))


def get_workflow_events(rt: Runtime, run_id: str, after_seq: int = 0) -> Op[list[dict[str, Any]]]:
    check_run_id(run_id)
    k = rt.actor_keys(run_id)
    # Sealed or not (``actors.sealed``): the sealed prefix and the stream in one trip,
    # read again should it have crossed a seal (``torn``).
    read = (command("get", k.sealed),
            command("xrange", k.journal, min=f"{after_seq + 1}-0", max="+"),
            command("hget", k.meta, "sealed"))
    while True:
        if after_seq == 0:  # a run that does not exist, not one without events yet
            exists, sealed, entries, sealed_at = yield Pipeline((command("exists", k.record),
                                                                 *read))
            if not exists:
                raise RunNotFoundError(run_id)
        else:
            sealed, entries, sealed_at = yield Pipeline(read)
        events = merge(sealed, entries, run_id, after_seq)
        if not torn(events, after_seq, sealed_at):
            return AwaitableList(event_dict(e.seq, e.type, e.ts, e.data) for e in events)


def list_workflow_runs(rt: Runtime, status: str | None, workflow: str | None,
                       limit: int) -> Op[list[RunInfo]]:
    check_limit(limit)
    out: list[RunInfo] = AwaitableList()
    offset, page = 0, list_page(limit)
    index = keys.runs_index(rt.settings.key_prefix)
    while len(out) < limit:
        ids = yield command("zrevrange", index, offset, offset + page - 1)
        if not ids:
            break
        offset += page
        records = yield Pipeline(tuple(
            command("hgetall", rt.actor_keys(raw.decode()).record) for raw in ids))
        take_matching(out, ids, records, status, workflow, limit)
    return out


# -- waiting ------------------------------------------------------------------------------
def wait_for_run(rt: Runtime, run_id: str, timeout: float | None = None,
                 follow: bool = False) -> Op[RunInfo]:
    check_run_id(run_id)
    deadline = wait_deadline(timeout)
    info = yield from _wait_one(rt, run_id, deadline, timeout)
    while follow and info.continued_to:
        info = yield from _wait_one(rt, info.continued_to, deadline, timeout, expected=True)
    return info


def _wait_one(rt: Runtime, run_id: str, deadline: float | None, timeout: float | None,
              expected: bool = False) -> Op[RunInfo]:
    """Wait for one run; ``expected``: a successor whose record may not exist yet."""
    journal = rt.actor_keys(run_id).journal
    while True:
        last, rec = yield _tail_and_record(rt, run_id)
        tail = journal_tail(last)
        if not rec:
            if not expected:
                raise RunNotFoundError(run_id)
            # Its first turn has not run yet: the journal's first entry wakes us.
            block = block_until(deadline, f"run {run_id} has not started after {timeout}s")
        else:
            info = run_info_from_record(run_id, rec)
            if info.settled:
                return info
            block = block_ms(info, deadline, timeout)
        yield command("xread", {journal: tail}, count=1, block=block)


def get_result(rt: Runtime, run_id: str, timeout: float | None = None,
               follow: bool = False) -> Op[Any]:
    return result_of((yield from wait_for_run(rt, run_id, timeout, follow)))


def get_value(rt: Runtime, run_id: str, key: str, timeout: float | None = None) -> Op[Any]:
    check_value_key(key)
    check_run_id(run_id)
    journal = rt.actor_keys(run_id).journal
    deadline = wait_deadline(timeout)
    while True:
        last, rec = yield _tail_and_record(rt, run_id)
        if not rec:
            raise RunNotFoundError(run_id)
        found, value = value_in_record(run_id, key, rec, waiting=timeout is not None)
        if found:
            return value
        yield command("xread", {journal: journal_tail(last)}, count=1,
                      block=block_until(deadline, value_timeout_text(run_id, key, timeout)))


# -- messages to a run --------------------------------------------------------------------
def _send(rt: Runtime, run_id: str, kind: str, payload: dict[str, Any],
          msg_id: str | None = None) -> Offload:
    # ``rt.system`` looked up in the call: a runtime's first send builds the actor system
    # (and loads Celery), which aio must do in its thread, not on its loop.
    return Offload(lambda: rt.system.send(run_id, kind, payload, msg_id))


def _send_cancel(rt: Runtime, run_id: str, payload: dict[str, Any]) -> None:
    """The cancel message, then the run's hooks closed (their tokens answer
    "cancelled" from now on): one trip to a thread for aio."""
    rt.system.send(run_id, "cancel", payload)
    hooks.cancel_hooks(run_id)


def cancel_workflow(rt: Runtime, run_id: str, reason: str | None = None, wait: bool = False,
                    timeout: float | None = None) -> Op[RunInfo]:
    info = yield from get_workflow_run(rt, run_id)
    if info.finished:
        return info
    yield Offload(_send_cancel, (rt, run_id, encode(CancelRun(reason=reason, force=True))))
    if wait:
        return (yield from wait_for_run(rt, run_id, timeout))
    return (yield from get_workflow_run(rt, run_id))


def retry_run(rt: Runtime, run_id: str) -> Op[RunInfo]:
    check_run_id(run_id)
    rec, journal_length = yield from _record_and_journal_length(rt, run_id)
    if not rec:
        raise RunNotFoundError(run_id)
    info = run_info_from_record(run_id, rec)
    action = retry_message(info)
    if action == "start":
        yield from _resend_lost_start(rt, run_id, rec, journal_length)
    elif action == "retry":
        yield _send(rt, run_id, "retry", encode(RetryRun()))
    return info


def send_signal(rt: Runtime, run_id: str, name: str, payload: Any = None,
                signal_id: str | None = None) -> Op[str]:
    msg_id, message = signal_message(name, payload, signal_id)
    check_signal_target((yield from get_workflow_run(rt, run_id)))
    yield _send(rt, run_id, "signal", message, msg_id)
    return msg_id


# -- starting a run -----------------------------------------------------------------------
def start(rt: Runtime, workflow_or_name: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
          idempotency_key: str | None = None, if_finished: IfFinished = "return",
          queue: str | None = None, priority: int | None = None, *,
          built_key: bool = False) -> Op[RunId]:
    """A new run: its record, its index entry and its start message in hand with its
    first turn, in one round trip (``deliver_held``), plus that turn's publish. With a
    key, the record is written and the key claimed first (a key never names a run
    without a record, which the next start would take as free). Whatever fails
    undoes what was written, and raises. ``queue``/``priority``: the run's route
    (``pyworkflow.routing``), over what its workflow declares. A debounced or singleton
    start is ``flow_start.start`` (which the faces call, and which comes here otherwise).
    The key is checked by ``plan_start`` (at most ``limits.MAX_IDEMPOTENCY_KEY_CHARS``
    printable characters) before anything is written; ``built_key``: see there."""
    if idempotency_key is not None:
        check_if_finished(if_finished)
    plan = plan_start(workflow_or_name, args, kwargs, idempotency_key, queue, priority,
                      built_key=built_key)
    record_key = rt.actor_keys(plan.run_id).record
    writes = [command("zadd", keys.runs_index(rt.settings.key_prefix),
                      {plan.run_id: plan.created_at})]
    claimed = False
    try:
        if idempotency_key is None:
            writes.insert(0, command("hset", record_key, mapping=plan.record))
        else:
            yield command("hset", record_key, mapping=plan.record)
            holder = yield from _claim(rt, plan, idempotency_key, if_finished)
            if holder is not None:
                yield command("delete", record_key)
                return RunId.existing(holder)
            claimed = True
        with start_span(plan.workflow, plan.run_id) as carrier:
            payload = encode(dataclasses.replace(plan.start, trace=carrier))
            # A new run's actor is idle: the message goes in hand with its first turn.
            message = Message("start", plan.run_id, payload, msg_id=plan.msg_id)
            before = Pipeline(tuple(writes)).queue_on
            yield Offload(lambda: rt.system.deliver_held(message, before=before))  # see _send
    except GeneratorExit:
        raise
    except BaseException:
        yield from _undo_start(rt, plan, idempotency_key if claimed else None)
        raise
    return RunId(plan.run_id)


def _claim(rt: Runtime, plan: StartPlan, key: str, if_finished: IfFinished) -> Op[str | None]:
    """Make ``key`` name the new run (None), or return the run it names instead."""
    expected = ""
    for _attempt in range(10):
        won, holder = yield Script(CLAIM_SCRIPT, *claim_args(
            rt.settings.key_prefix, key, plan.run_id, expected,
            rt.settings.idempotency_retention))
        if won:
            return None
        expected = str(holder.decode())
        if not expected:
            continue  # it was let go meanwhile: claim it as free
        rec, journal_length = yield from _record_and_journal_length(rt, expected)
        info = run_info_from_record(expected, rec) if rec else None
        if holder_verdict(key, info, if_finished) == "return":
            yield from _resend_lost_start(rt, expected, rec, journal_length)
            return expected
    raise RuntimeError(f"idempotency key {key!r} keeps changing hands; try again")


def _resend_lost_start(rt: Runtime, run_id: str, rec: dict[bytes, bytes],
                       journal_length: int) -> Op[None]:
    """A ``pending`` run with an empty journal may never have got its start message:
    send it again (same message id, so a start that did arrive is not doubled)."""
    start_msg = start_message(run_id, rec)
    if start_msg is not None and journal_length == 0:
        yield _send(rt, run_id, "start", start_msg["payload"], start_msg["msg_id"])


def _undo_start(rt: Runtime, plan: StartPlan, claimed_key: str | None) -> Op[None]:
    """Best effort: if Redis itself is down this fails too, and what stays behind is
    a record without a start message, which the next start with the same key (or
    ``retry_run``) completes."""
    with contextlib.suppress(Exception):
        yield Pipeline((command("delete", rt.actor_keys(plan.run_id).record),
                        command("zrem", keys.runs_index(rt.settings.key_prefix), plan.run_id)))
        if claimed_key is not None:
            yield Script(RELEASE_SCRIPT, *release_args(rt.settings.key_prefix, claimed_key,
                                                      plan.run_id))
