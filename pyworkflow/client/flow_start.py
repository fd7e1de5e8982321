"""Debounced and singleton starts (issue 26.5), written once for both client faces.

* ``start(wf, ..., debounce="5s", key="k")``: the first start of (workflow, key) makes a
  ``pending`` run whose start waits on a durable timer; every start within the window
  (which begins again at each one) returns that same run and replaces its arguments;
  when a whole window passes with no start, the run begins with the last arguments.
  The window's hash expires ``DEBOUNCE_MARGIN_MS`` before its timer fires, so a start
  either lands in the open window (and its timer, moved on, has not fired) or opens a
  new one: a start is never folded into a run that already began.
* ``start(wf, ..., key="k", if_running="return")``: at most one running run per
  (workflow, key): a second start returns the running one (an idempotency key under
  the hood, reused once the run has ended); ``"cancel_previous"`` cancels the running
  one and starts the new one.
"""

from __future__ import annotations

from typing import Any, Literal

from actors import Message
from actors.effects import StartTimer

from .. import ids, keys
from .._start_plan import plan_start
from ..durations import parse_duration
from ..limits import check_limit_key
from ..run_info import RunId, run_info_from_record
from ..wire import CancelRun, encode
from ..worker.idempotency import RELEASE_SCRIPT, IfFinished, release_args
from . import core
from .core import Offload, Op, Script, command

IfRunning = Literal["return", "cancel_previous"]
IF_RUNNING_CHOICES: tuple[IfRunning, ...] = ("return", "cancel_previous")
#: The window's hash goes this long before its timer fires (see the module docstring).
DEBOUNCE_MARGIN_MS = 200
#: The longest debounce window.
MAX_DEBOUNCE_S = 7 * 86400.0
DEBOUNCE_SCRIPT = "flow/debounce"


def singleton_key(workflow: str, key: str) -> str:
    """The idempotency key that stands for (workflow, key) while a run of it is running."""
    return f"pyworkflow:singleton:{workflow}:{key}"


def check_keyed(key: str | None, debounce: Any, if_running: str | None) -> float | None:
    """Refuse bad combinations before anything is written; the window in seconds."""
    if if_running is not None and if_running not in IF_RUNNING_CHOICES:
        raise ValueError(f"if_running must be one of {', '.join(IF_RUNNING_CHOICES)}; "
                         f"got {if_running!r}")
    if key is None:
        raise TypeError("debounce= and if_running= need key= (the value that makes two "
                        "starts the same: a customer id, a document id)")
    check_limit_key(key)
    if debounce is None:
        return None
    if if_running is not None:
        raise TypeError("give debounce= or if_running=, not both")
    window = parse_duration(debounce)
    if not 0 < window <= MAX_DEBOUNCE_S:
        raise ValueError(f"debounce must be more than 0 and at most {MAX_DEBOUNCE_S:g}s")
    return window


def start(rt: Any, workflow_or_name: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
          idempotency_key: str | None = None, if_finished: IfFinished = "return",
          queue: str | None = None, priority: int | None = None, debounce: Any = None,
          key: str | None = None, if_running: str | None = None) -> Op[RunId]:
    """The start both faces make: a debounced or singleton one here, any other one
    ``core.start``'s."""
    if debounce is None and if_running is None and key is None:
        return (yield from core.start(rt, workflow_or_name, args, kwargs, idempotency_key,
                                      if_finished, queue, priority))
    if idempotency_key is not None:
        raise TypeError("idempotency_key= and key= do not go together: key= is already one "
                        "run per key (if_running=) or per window (debounce=)")
    window = check_keyed(key, debounce, if_running)
    assert key is not None
    if window is not None:
        return (yield from _debounced(rt, workflow_or_name, args, kwargs, key, window,
                                      queue, priority))
    plan = plan_start(workflow_or_name, args, kwargs)  # checks the arguments first
    ikey = singleton_key(plan.workflow, key)
    if if_running == "cancel_previous":
        yield from _cancel_holder(rt, ikey)
    return (yield from core.start(rt, workflow_or_name, args, kwargs, ikey, "start_new",
                                  queue, priority, built_key=True))


def _cancel_holder(rt: Any, ikey: str) -> Op[None]:
    """Cancel the run ``ikey`` names if it is still running, and free the key for the
    new run (only if it still names that run: a concurrent start may have moved it)."""
    prefix = rt.settings.key_prefix
    holder = yield command("get", keys.idempotency_key(prefix, ikey))
    if not holder:
        return
    run_id = holder.decode() if isinstance(holder, bytes) else str(holder)
    rec = yield command("hgetall", rt.actor_keys(run_id).record)
    if rec and not run_info_from_record(run_id, rec).finished:
        cancel = encode(CancelRun(
            reason="cancelled by a newer start (if_running='cancel_previous')"))
        # ``rt.system`` looked up in aio's thread (see ``core._send``)
        yield Offload(lambda: rt.system.send(run_id, "cancel", cancel))
    yield Script(RELEASE_SCRIPT, *release_args(prefix, ikey, run_id))


def _debounced(rt: Any, workflow_or_name: Any, args: tuple[Any, ...],
               kwargs: dict[str, Any], key: str, window_s: float, queue: str | None,
               priority: int | None) -> Op[RunId]:
    plan = plan_start(workflow_or_name, args, kwargs, queue=queue, priority=priority)
    prefix = rt.settings.key_prefix
    window_ms = int(window_s * 1000)
    opened, run_id = yield Script(DEBOUNCE_SCRIPT, [keys.debounce(prefix, plan.workflow, key)],
                                  [plan.run_id, window_ms])
    run_id = run_id.decode() if isinstance(run_id, bytes) else str(run_id)
    if int(opened):
        yield core.Pipeline((
            command("hset", rt.actor_keys(run_id).record, mapping=plan.record),
            command("zadd", keys.runs_index(prefix), {run_id: plan.created_at})))
    else:  # the open window's run takes these arguments
        yield command("hset", rt.actor_keys(run_id).record,
                      mapping={k: plan.record[k] for k in ("args", "kwargs", "updated_at")})
    timer_id = ids.debounce_timer_id(run_id)
    timer = StartTimer(timer_id=timer_id, due_ms=0, actor_id=run_id, kind="start",
                       payload=encode(plan.start))
    yield Offload(_schedule, (rt, timer, window_ms + DEBOUNCE_MARGIN_MS))
    return RunId(run_id) if int(opened) else RunId.existing(run_id)


def _schedule(rt: Any, timer: StartTimer, delay_ms: int) -> None:
    message: Message = rt.system.timer_message(timer)
    rt.system.timers.schedule_in(timer.timer_id, delay_ms, message)
