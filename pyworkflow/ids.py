"""Ids that pyworkflow derives: built here and nowhere else.

A run id is the run actor's id (the runtime routes ``run-...`` actors to the
workflow behaviour). Message ids are derived from what they report, so the same
report sent twice (a retried call, a replayed turn, a step result and its "worker
lost" twin) is one message to the run: the runtime drops a msg_id it has seen.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid

from actors.task_names import TURN_TASK_NAME

from .routing import DEFAULT_PRIORITY, DEFAULT_QUEUE, Route

RUN_ID_PREFIX = "run-"
#: Celery task names: the runtime's turn task (named by the runtime) and pyworkflow's
#: step task.
TURN_TASK = TURN_TASK_NAME
STEP_TASK = "pyworkflow.step"
#: The task that lets go of a slot a finished run held (``pyworkflow.flow``).
SLOT_RELEASE_TASK = "pyworkflow.slot_release"


def new_run_id(route: Route | None = None) -> str:
    """80 random bits after the prefix: unguessable and short enough to type; then the
    run's route when it is not the default (:func:`route_suffix`)."""
    return f"{RUN_ID_PREFIX}{uuid.uuid4().hex[:20]}{route_suffix(route)}"


# -- a run's route, carried in its id (why: ``pyworkflow.routing``) ------------------------
#: ``@queue`` then ``+priority``, each only when not the default: ``run-1f..9c@billing+8``.
_ROUTE_TAIL = re.compile(r"(?:@(?P<queue>[A-Za-z0-9][A-Za-z0-9_-]{0,39}))?"
                         r"(?:\+(?P<priority>[0-9]))?$")


def route_suffix(route: Route | None) -> str:
    """What a run id ends with to carry ``route`` ('' for the default route)."""
    if route is None:
        return ""
    queue = "" if route.queue == DEFAULT_QUEUE else f"@{route.queue}"
    priority = "" if route.priority == DEFAULT_PRIORITY else f"+{route.priority}"
    return f"{queue}{priority}"


def run_route(run_id: str) -> Route:
    """The route a run id carries (the default route for an id that carries none)."""
    if "@" not in run_id and "+" not in run_id:
        return _DEFAULT_ROUTE
    match = _ROUTE_TAIL.search(run_id)
    if match is None or match.group(0) == "":
        return _DEFAULT_ROUTE
    priority = match.group("priority")
    return Route(match.group("queue") or DEFAULT_QUEUE,
                 DEFAULT_PRIORITY if priority is None else int(priority))


_DEFAULT_ROUTE = Route()


def new_hook_token() -> str:
    """192 random bits, URL-safe: whoever holds a token can resume the hook. Never
    starting with ``-``, so that a token pasted on a command line (``pyworkflow hooks
    resume TOKEN``) is not read as an option."""
    while True:
        token = secrets.token_urlsafe(24)
        if not token.startswith("-"):
            return token


def trace_carrier(run_id: str) -> dict[str, str]:
    """The W3C trace context of a run started without one: trace id and parent span id
    are hashes of the run id (sampled), so every worker derives the same and the run's
    spans join one trace. No span with that span id is ever recorded: it stands for the
    start nobody traced."""
    digest = hashlib.sha256(f"pyworkflow trace {run_id}".encode()).hexdigest()
    trace_id, span_id = digest[:32], digest[32:48]
    if not int(trace_id, 16):  # all zeros is invalid in W3C; a 1-in-2**128 case
        trace_id = "1".rjust(32, "0")
    if not int(span_id, 16):
        span_id = "1".rjust(16, "0")
    return {"traceparent": f"00-{trace_id}-{span_id}-01"}


# -- messages to a run -------------------------------------------------------------------
def start_message_id(run_id: str) -> str:
    return f"{run_id}:start"


def step_result_message_id(run_id: str, call_id: int, attempt: int) -> str:
    """One id for an attempt's outcome, whoever reports it (the step, or the worker that
    saw its lease expire): whichever arrives first is the one recorded."""
    return f"{run_id}:{call_id}:{attempt}:result"


def step_undelivered_message_id(run_id: str, call_id: int, attempt: int) -> str:
    """Each report of a lost dispatch is new (the same attempt may be lost twice)."""
    return f"{step_attempt(run_id, call_id, attempt)}:undelivered:{uuid.uuid4().hex}"


def hook_message_id(token: str) -> str:
    return f"hook:{token}"


def child_done_message_id(child_run_id: str) -> str:
    return f"{child_run_id}:done"


def run_ended_message_id(run_id: str) -> str:
    """What a run started by a schedule tells its schedule when it ends."""
    return f"{run_id}:ended"


def cancel_child_message_id(run_id: str, call_id: int) -> str:
    return f"{run_id}:cancel-child:{call_id}"


def close_child_message_id(run_id: str, call_id: int) -> str:
    return f"{run_id}:close-child:{call_id}"


def wake_message_id(run_id: str) -> str:
    """A wake-up is always new: each one asks for another turn."""
    return f"{run_id}:wake:{uuid.uuid4().hex}"


# -- tasks and timers --------------------------------------------------------------------
def step_task_id(run_id: str, call_id: int, attempt: int) -> str:
    return f"{run_id}:{call_id}:{attempt}"


def step_attempt(run_id: str, call_id: int, attempt: int) -> str:
    """An attempt as a member of the step-lease index."""
    return f"{run_id}|{call_id}|{attempt}"


def step_idempotency_key(run_id: str, call_id: int) -> str:
    """The same for every attempt of one step call: what a step passes to external APIs."""
    return f"{run_id}:{call_id}"


def wait_timer_id(run_id: str, call_id: int) -> str:
    """The timer of a sleep or of a hook's timeout."""
    return f"{run_id}:wait:{call_id}"


def run_timeout_timer_id(run_id: str) -> str:
    """The timer of a run's ``max_duration``."""
    return f"{run_id}:deadline"


def new_signal_id() -> str:
    """Each signal an app sends is new (sending twice is two signals); an app that
    retries a send passes its own id to keep it one."""
    return f"signal:{uuid.uuid4().hex}"


def retry_timer_id(run_id: str, call_id: int, attempt: int) -> str:
    return f"{run_id}:retry:{call_id}:{attempt}"


# -- flow control ------------------------------------------------------------------------
def slot_holder_of_run(run_id: str) -> str:
    """A run as a holder (or waiter) of a concurrency slot."""
    return f"run:{run_id}"


def slot_holder_of_step(run_id: str, call_id: int, attempt: int) -> str:
    """A step attempt as a holder (or waiter) of a concurrency slot."""
    return f"step:{step_attempt(run_id, call_id, attempt)}"


def slot_granted_message_id(run_id: str) -> str:
    """A run waits for a slot once (before its code begins): one grant message."""
    return f"{run_id}:slot-granted"


def slot_cancel_message_id(victim_run_id: str, by_run_id: str) -> str:
    """``cancel_oldest``: the cancel a newcomer sends the oldest holder."""
    return f"{victim_run_id}:slot-cancel:{by_run_id}"


def slot_release_task_id(run_id: str) -> str:
    return f"{run_id}:slot-release"


def rate_timer_id(run_id: str, call_id: int, attempt: int) -> str:
    """The timer of a step attempt deferred by its rate limit (once per attempt: the
    limiter reserves its start time)."""
    return f"{run_id}:rate:{call_id}:{attempt}"


def debounce_timer_id(run_id: str) -> str:
    """The timer that starts a debounced run when its window closes."""
    return f"{run_id}:debounce"


# -- schedules ---------------------------------------------------------------------------
#: Schedule actors' ids start with this (the runtime routes them to the schedule behaviour).
SCHEDULE_ID_PREFIX = "sched-"


def schedule_id(name: str) -> str:
    """The schedule actor's id for a name a user gave (``nightly`` -> ``sched-nightly``);
    an id that already has the prefix is kept, so either form names one schedule."""
    return name if name.startswith(SCHEDULE_ID_PREFIX) else f"{SCHEDULE_ID_PREFIX}{name}"


def new_schedule_id(workflow: str) -> str:
    return schedule_id(f"{workflow}-{uuid.uuid4().hex[:8]}")


def scheduled_run_id(schedule: str, fire_ms: int, route: Route | None = None) -> str:
    """The one run of a schedule's firing: derived from (schedule, fire time), so a crash,
    a duplicate timer or a repeated backfill never starts two runs for one firing.
    Readable: ``run-sched-nightly-20260101T020000Z`` (``.123`` before ``Z`` off-second),
    then the workflow's route when it has one (:func:`route_suffix`)."""
    seconds, millis = divmod(int(fire_ms), 1000)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(seconds))
    return (f"{RUN_ID_PREFIX}{schedule}-{stamp}{f'.{millis:03d}' if millis else ''}Z"
            f"{route_suffix(route)}")


_FIRE_STAMP = re.compile(r"\d{8}T\d{6}(\.\d{3})?Z")


def is_run_of_schedule(run_id: str, schedule: str) -> bool:
    """Whether ``run_id`` is a firing's run of ``schedule`` (``runs list --schedule``)."""
    head = f"{RUN_ID_PREFIX}{schedule}-"
    tail = run_id[len(head):]
    return run_id.startswith(head) and bool(
        _FIRE_STAMP.fullmatch(tail[:len(tail) - len(route_suffix(run_route(run_id)))]))


def schedule_timer_id(schedule: str, generation: int, fire_ms: int) -> str:
    """A firing's timer; the generation changes with every pause, resume and update, so a
    timer armed before one of those is recognisably stale when it fires."""
    return f"{schedule}:fire:{generation}:{fire_ms}"


def schedule_declare_message_id(schedule: str, spec_digest: str) -> str:
    """``@scheduled_workflow`` declares its schedule from every process that imports it:
    one message per spec, so a restart is a repeat the actor drops (and a deleted
    schedule stays deleted until its spec changes)."""
    return f"{schedule}:declare:{spec_digest}"


def schedule_cancel_message_id(schedule: str, run_id: str) -> str:
    """``cancel_other`` asks a run to cancel once, however often the turn is replayed."""
    return f"{schedule}:cancel:{run_id}"
