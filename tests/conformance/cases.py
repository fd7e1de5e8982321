"""The conformance cases: one list, each case run on every runtime (``runtimes.py``).

A case names a workflow (``workflows.py``) and its arguments (after the ``tag``
every workflow takes), a script of things to do to the run while it goes on, and
what it must give: the final status, the result or the class of the error the run
ended with, the attempts per step, the journal's event types (on runtimes that keep
one: they must be identical there), the children's ends, and the notes its script
wrote (e.g. which error a refused hook payload raised). A runtime a case cannot run
on is listed in ``not_on`` with the reason, and the test is skipped there with it.

Event sequences are kept deterministic: a script waits for the run to be waiting
before it acts, so the order never depends on a worker's speed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .runtimes import Session

# -- why a case does not apply to a runtime ---------------------------------------------------

TRANSIENT_NO_HOOKS = "transient runs have no hooks (a hook needs a durable run: transient.py)"
TRANSIENT_NO_SIGNALS = "transient runs take no signals (they need a durable run: transient.py)"
TRANSIENT_NO_CHILDREN = "transient runs start no child workflows (transient.py)"
TRANSIENT_NO_CANCEL = "a transient run is a plain call in this process: there is no run to cancel"
TRANSIENT_NO_VALUES = "set_value needs a durable run (it raises RuntimeError outside one)"
TRANSIENT_NO_CONTINUE = "continue_as_new needs a durable run (it raises RuntimeError outside one)"
TRANSIENT_NO_DEADLINE = "a transient run has no run-level timer: max_duration is not enforced"
TRANSIENT_NO_KEY = "a transient run is no stored run: idempotency keys need pyworkflow.start"

# -- what a script does to a run -----------------------------------------------------------------


@dataclasses.dataclass
class Ctx:
    """One case's run on one runtime, as its script acts on it."""

    session: Session
    workflow: str
    args: tuple[Any, ...]
    run_id: str
    tag: str
    idempotency_key: str | None
    token: str | None = None
    notes: list[str] = dataclasses.field(default_factory=list)

    def child(self) -> str:
        events = self.session.events(self.run_id) or []
        ids = [e["data"]["child_run_id"] for e in events if e["type"] == "child_started"]
        assert ids, f"run {self.run_id} has started no child"
        return str(ids[0])


@dataclasses.dataclass(frozen=True)
class Action:
    #: done once the run has settled, instead of while it goes on
    after_end: bool = dataclasses.field(default=False, kw_only=True)

    def do(self, ctx: Ctx) -> None:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class WaitEvent(Action):
    """Wait until the run's (or its first child's) journal holds an event of this type."""

    type: str
    child: bool = False

    def do(self, ctx: Ctx) -> None:
        if self.child:
            ctx.session.wait_event(ctx.run_id, "child_started")
        ctx.session.wait_event(ctx.child() if self.child else ctx.run_id, self.type)


@dataclasses.dataclass(frozen=True)
class WaitAttempt(Action):
    """Wait until a step attempt is running (in-process: dispatched, see ``hold``)."""

    step: str

    def do(self, ctx: Ctx) -> None:
        ctx.session.wait_attempt(ctx.tag, self.step)


@dataclasses.dataclass(frozen=True)
class Signal(Action):
    name: str
    payload: Any = None
    to_child: bool = False

    def do(self, ctx: Ctx) -> None:
        ctx.session.send_signal(ctx.child() if self.to_child else ctx.run_id, self.name,
                                self.payload)


@dataclasses.dataclass(frozen=True)
class RefusedSignal(Action):
    """Send a signal the sender must be told is refused (the note names the class)."""

    name: str
    refused: str

    def do(self, ctx: Ctx) -> None:
        try:
            ctx.session.send_signal(ctx.run_id, self.name, None)
        except Exception as exc:
            ctx.notes.append(f"refused {type(exc).__name__}")
        else:
            ctx.notes.append("accepted, not refused")


@dataclasses.dataclass(frozen=True)
class Flood(Action):
    """Send ``count`` signals of ``name`` that nobody waits for."""

    name: str
    count: int

    def do(self, ctx: Ctx) -> None:
        for i in range(self.count):
            ctx.session.send_signal(ctx.run_id, self.name, i)


@dataclasses.dataclass(frozen=True)
class NoteDeadLetter(Action):
    """Note whether a dead letter of the run gives a reason containing ``containing``
    (a message the run refused is never lost without a trace)."""

    containing: str

    def do(self, ctx: Ctx) -> None:
        reasons = ctx.session.dead_letters(ctx.run_id)
        if any(self.containing in reason for reason in reasons):
            ctx.notes.append(f"dead-lettered: {self.containing}")
        else:
            ctx.notes.append(f"no dead letter with {self.containing!r}: {reasons}")


@dataclasses.dataclass(frozen=True)
class RememberHook(Action):
    """Wait for the run's pending hook and keep its token."""

    def do(self, ctx: Ctx) -> None:
        ctx.token = ctx.session.pending_hook(ctx.run_id)


@dataclasses.dataclass(frozen=True)
class ResumeHook(Action):
    """Deliver a payload to the run's pending hook (or the remembered one). With
    ``refused`` the delivery must raise that class; the note then says so, whether the
    message names ``naming``, and the hook's status after the refusal."""

    payload: Any = None
    refused: str | None = None
    naming: str | None = None

    def do(self, ctx: Ctx) -> None:
        token = ctx.token or ctx.session.pending_hook(ctx.run_id)
        ctx.token = token
        try:
            ctx.session.resume_hook(token, self.payload)
        except Exception as exc:
            if self.refused is None:
                raise
            note = f"refused {type(exc).__name__}"
            if self.naming is not None:
                named = self.naming in str(exc)
                note += f" naming {self.naming}" if named else f" not naming {self.naming}: {exc}"
            ctx.notes.append(note)
            ctx.notes.append(f"hook {ctx.session.hook_status(token)}")
            return
        ctx.notes.append("accepted" if self.refused is None else "accepted, not refused")


@dataclasses.dataclass(frozen=True)
class Cancel(Action):
    def do(self, ctx: Ctx) -> None:
        ctx.session.cancel(ctx.run_id, ctx.tag)


@dataclasses.dataclass(frozen=True)
class NoteResultError(Action):
    """Note the class the runtime's ``get_result`` raises for the settled run (a
    cancelled run: ``WorkflowCancelledError``, on every face)."""

    def do(self, ctx: Ctx) -> None:
        ctx.notes.append(f"get_result raised {ctx.session.result_error(ctx.run_id)}")


@dataclasses.dataclass(frozen=True)
class StartAgain(Action):
    """Start the same workflow again with the run's idempotency key."""

    def do(self, ctx: Ctx) -> None:
        again = ctx.session.start(ctx.workflow, (ctx.tag, *ctx.args),
                                  idempotency_key=ctx.idempotency_key)
        ctx.notes.append("same run" if again == ctx.run_id else f"another run {again}")


# -- what a case must give -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Child:
    """How a child run ended (the parent's first child)."""

    status: str
    result: Any = None
    events: tuple[str, ...] | None = None


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    workflow: str
    args: tuple[Any, ...] = ()
    status: str = "completed"
    result: Any = None
    #: the class name of the error the run ended with (None: it did not fail)
    error: str | None = None
    attempts: dict[str, int] = dataclasses.field(default_factory=dict)
    #: the journal's event types, on every runtime that keeps one
    events: tuple[str, ...] | None = None
    child: Child | None = None
    script: tuple[Action, ...] = ()
    notes: tuple[str, ...] = ()
    #: start the run without running it (in-process), so a cancel lands mid-step
    hold: bool = False
    idempotent: bool = False
    #: follow a continue-as-new chain to its last run; the chain's statuses
    chain: tuple[str, ...] | None = None
    values: dict[str, Any] | None = None
    #: at least this many seconds between a step's failed attempt and the next one
    waits: dict[str, tuple[float, ...]] = dataclasses.field(default_factory=dict)
    not_on: dict[str, str] = dataclasses.field(default_factory=dict)


def caught(cls: str, **fields: Any) -> dict[str, Any]:
    """What ``workflows.describe`` returns for an error of class ``cls``."""
    base: dict[str, Any] = {"caught": cls, "error_type": None, "cause_type": None,
                            "cause_message": None, "attempts": None, "fatal": None}
    return {**base, **fields}


def step_failed(error_type: str, cause_type: str, message: str, attempts: int,
                fatal: bool) -> dict[str, Any]:
    return caught("StepFailedError", error_type=error_type, cause_type=cause_type,
                  cause_message=message, attempts=attempts, fatal=fatal)


W = "tests.conformance.workflows"

# Event type names, short, to keep the sequences readable.
WS, WC, WF, WX = ("workflow_started", "workflow_completed", "workflow_failed",
                  "workflow_cancelled")
SS, SC, SF, SR = "step_scheduled", "step_completed", "step_failed", "step_retrying"
LS, LC = "sleep_started", "sleep_completed"
HC, HR, HE = "hook_created", "hook_received", "hook_expired"
GW, GR, GD, GT = ("signal_wait_started", "signal_received", "signal_delivered",
                  "signal_timed_out")
CS, CC, CF, CX = "child_started", "child_completed", "child_failed", "child_cancel_requested"
XR, XW = "cancel_requested", "wait_cancelled"
VS, PM, CN = "value_set", "patch_marked", "workflow_continued_as_new"

APPROVED = {"approved": True, "by": "ann"}
RETRIED_3 = (WS, SS, SF, SR, SF, SR, SF)

CASES: list[Case] = [
    # -- steps: results and errors ----------------------------------------------------------
    Case("steps_async_and_sync", "conf_steps", (2,), result={"doubled": 4, "sum": 5},
         attempts={"conf_double": 1, "conf_sync_add": 1}, events=(WS, SS, SC, SS, SC, WC)),
    Case("fatal_error_caught", "conf_catch", ("fatal",), result=caught("FatalError"),
         attempts={"conf_fatal": 1}, events=(WS, SS, SF, WC)),
    Case("fatal_subclass_caught", "conf_catch", ("declined",),
         result=step_failed("CardDeclined", f"{W}.CardDeclined", "card declined", 1, True),
         attempts={"conf_declined": 1}, events=(WS, SS, SF, WC)),
    Case("retryable_error_exhausted_caught", "conf_catch", ("retryable",),
         result=caught("RetryableError"), attempts={"conf_retryable": 3},
         events=(*RETRIED_3, WC)),
    Case("retryable_subclass_exhausted_caught", "conf_catch", ("rate_limited",),
         result=step_failed("RateLimited", f"{W}.RateLimited", "slow down", 3, False),
         attempts={"conf_rate_limited": 3}, events=(*RETRIED_3, WC)),
    Case("value_error_exhausted_caught", "conf_catch", ("value_error",),
         result=step_failed("ValueError", "builtins.ValueError", "bad value", 3, False),
         attempts={"conf_value_error": 3}, events=(*RETRIED_3, WC)),
    Case("no_retries_caught", "conf_catch", ("no_retries",),
         result=step_failed("ValueError", "builtins.ValueError", "once only", 1, False),
         attempts={"conf_no_retries": 1}, events=(WS, SS, SF, WC)),
    Case("step_timeout_caught", "conf_catch", ("too_slow",), result=caught("StepTimeoutError"),
         attempts={"conf_too_slow": 2}, events=(WS, SS, SF, SR, SF, WC)),
    Case("fatal_error_fails_run", "conf_raise", ("fatal",), status="failed",
         error="FatalError", attempts={"conf_fatal": 1}, events=(WS, SS, SF, WF)),
    Case("fatal_subclass_fails_run", "conf_raise", ("declined",), status="failed",
         error="StepFailedError", attempts={"conf_declined": 1}, events=(WS, SS, SF, WF)),
    Case("retryable_error_fails_run", "conf_raise", ("retryable",), status="failed",
         error="RetryableError", attempts={"conf_retryable": 3}, events=(*RETRIED_3, WF)),
    Case("value_error_fails_run", "conf_raise", ("value_error",), status="failed",
         error="StepFailedError", attempts={"conf_value_error": 3}, events=(*RETRIED_3, WF)),
    Case("step_timeout_fails_run", "conf_raise", ("too_slow",), status="failed",
         error="StepTimeoutError", attempts={"conf_too_slow": 2},
         events=(WS, SS, SF, SR, SF, WF)),
    Case("step_timeout_then_success", "conf_slow_once", result=2,
         attempts={"conf_slow_once": 2}, events=(WS, SS, SF, SR, SC, WC)),
    Case("compensate_after_fatal_subclass", "conf_compensate",
         result={"seen": step_failed("CardDeclined", f"{W}.CardDeclined", "card declined", 1,
                                     True), "undo": "cleaned"},
         attempts={"conf_declined": 1, "conf_cleanup": 1}, events=(WS, SS, SF, SS, SC, WC)),
    # -- retry policy ---------------------------------------------------------------------------
    Case("flaky_step_recovers", "conf_flaky", (2,), result=3, attempts={"conf_flaky": 3},
         events=(WS, SS, SF, SR, SF, SR, SC, WC)),
    Case("retry_after_is_waited", "conf_retry_after", result=2,
         attempts={"conf_retry_after": 2}, events=(WS, SS, SF, SR, SC, WC),
         waits={"conf_retry_after": (0.4,)}),
    Case("retry_delay_list", "conf_list_delays", result=3, attempts={"conf_list_delays": 3},
         events=(WS, SS, SF, SR, SF, SR, SC, WC), waits={"conf_list_delays": (0.2, 0.3)}),
    Case("retry_delay_fixed", "conf_fixed_delay", result=3, attempts={"conf_fixed_delay": 3},
         events=(WS, SS, SF, SR, SF, SR, SC, WC), waits={"conf_fixed_delay": (0.25, 0.25)}),
    # -- Celery tasks awaited as steps (step.from_task): Celery's declarations, mapped -------
    Case("celery_autoretry_backoff", "conf_celery_backoff",
         result={"retries": 2, "id_is_the_call": True}, attempts={"conf_celery_backoff": 3},
         events=(WS, SS, SF, SR, SF, SR, SC, WC), waits={"conf_celery_backoff": (1.0, 2.0)}),
    Case("celery_unlisted_exception_not_retried", "conf_celery_catch", ("unlisted",),
         result=step_failed("ValueError", "builtins.ValueError", "not in autoretry_for", 1,
                            True),
         attempts={"conf_celery_unlisted": 1}, events=(WS, SS, SF, WC)),
    Case("celery_max_retries_exhausted", "conf_celery_catch", ("exhausted",),
         result=step_failed("ConnectionError", "builtins.ConnectionError", "still down", 2,
                            False),
         attempts={"conf_celery_exhausted": 2}, events=(WS, SS, SF, SR, SF, WC)),
    Case("celery_soft_time_limit_is_the_timeout", "conf_celery_catch", ("soft_limit",),
         result=caught("StepTimeoutError"), attempts={"conf_celery_soft_limit": 2},
         events=(WS, SS, SF, SR, SF, WC)),
    Case("celery_self_retry_countdown", "conf_celery_self_retry", result=1,
         attempts={"conf_celery_self_retry": 2}, events=(WS, SS, SF, SR, SC, WC),
         waits={"conf_celery_self_retry": (0.3,)}),
    # -- workflow code's own errors -----------------------------------------------------------
    Case("workflow_raises_own_exception", "conf_workflow_error", status="failed",
         error="BadOrder", attempts={"conf_double": 1}, events=(WS, SS, SC, WF)),
    Case("workflow_raises_fatal_error", "conf_workflow_fatal", status="failed",
         error="FatalError", events=(WS, WF)),
    # -- sleep ------------------------------------------------------------------------------------
    Case("sleep_between_steps", "conf_sleep", (0.3,), result=4, attempts={"conf_double": 2},
         events=(WS, SS, SC, LS, LC, SS, SC, WC)),
    # -- hooks ------------------------------------------------------------------------------------
    Case("untyped_hook_payload", "conf_hook", script=(ResumeHook({"any": [1, "two"]}),),
         result={"any": [1, "two"]}, notes=("accepted",), events=(WS, HC, HR, WC),
         not_on={"transient": TRANSIENT_NO_HOOKS}),
    Case("typed_hook_valid_payload", "conf_typed_hook", script=(ResumeHook(APPROVED),),
         result={"type": "Approval", **APPROVED}, notes=("accepted",),
         events=(WS, HC, HR, WC), not_on={"transient": TRANSIENT_NO_HOOKS}),
    Case("typed_hook_invalid_payload_refused", "conf_typed_hook",
         script=(ResumeHook({"approved": "perhaps", "by": "ann"}, refused="HookPayloadError",
                            naming="approved"),
                 ResumeHook(APPROVED)),
         result={"type": "Approval", **APPROVED},
         notes=("refused HookPayloadError naming approved", "hook pending", "accepted"),
         events=(WS, HC, HR, WC), not_on={"transient": TRANSIENT_NO_HOOKS}),
    Case("typed_hook_missing_field_refused", "conf_typed_hook",
         script=(ResumeHook({"approved": False}, refused="HookPayloadError", naming="by"),
                 ResumeHook({"approved": False, "by": "bob"})),
         result={"type": "Approval", "approved": False, "by": "bob"},
         notes=("refused HookPayloadError naming by", "hook pending", "accepted"),
         events=(WS, HC, HR, WC), not_on={"transient": TRANSIENT_NO_HOOKS}),
    Case("hook_expiry_caught", "conf_hook_expiry", (0.3,),
         result={"expired": caught("HookExpiredError"), "after": 10},
         attempts={"conf_double": 1}, events=(WS, HC, HE, SS, SC, WC),
         not_on={"transient": TRANSIENT_NO_HOOKS}),
    Case("hook_expiry_fails_run", "conf_hook", (0.3,), status="failed",
         error="HookExpiredError", events=(WS, HC, HE, WF),
         not_on={"transient": TRANSIENT_NO_HOOKS}),
    Case("late_payload_after_expiry", "conf_hook_expiry", (0.3,),
         script=(RememberHook(), ResumeHook("too late", refused="HookExpiredError",
                                            after_end=True)),
         result={"expired": caught("HookExpiredError"), "after": 10},
         attempts={"conf_double": 1}, notes=("refused HookExpiredError", "hook expired"),
         events=(WS, HC, HE, SS, SC, WC), not_on={"transient": TRANSIENT_NO_HOOKS}),
    Case("second_payload_refused", "conf_hook",
         script=(ResumeHook("first"),
                 ResumeHook("second", refused="HookAlreadyReceivedError", after_end=True)),
         result="first", notes=("accepted", "refused HookAlreadyReceivedError", "hook received"),
         events=(WS, HC, HR, WC), not_on={"transient": TRANSIENT_NO_HOOKS}),
    # -- signals ------------------------------------------------------------------------------
    Case("signal_delivered", "conf_signal", script=(WaitEvent(GW), Signal("go", {"n": 1})),
         result={"n": 1}, events=(WS, GW, GR, GD, WC),
         not_on={"transient": TRANSIENT_NO_SIGNALS}),
    Case("signal_kept_until_waited_for", "conf_collect", (1, 0.3),
         script=(WaitEvent(LS), Signal("item", "early")), result=["early"],
         events=(WS, LS, GR, LC, GW, GD, WC), not_on={"transient": TRANSIENT_NO_SIGNALS}),
    Case("signals_delivered_in_order", "conf_collect", (2, 0.3),
         script=(WaitEvent(LS), Signal("item", "a"), Signal("item", {"b": 2})),
         result=["a", {"b": 2}], events=(WS, LS, GR, GR, LC, GW, GD, GW, GD, WC),
         not_on={"transient": TRANSIENT_NO_SIGNALS}),
    Case("signal_within_timeout", "conf_signal", (5,),
         script=(WaitEvent(GW), Signal("go", "in time")), result="in time",
         events=(WS, GW, GR, GD, WC), not_on={"transient": TRANSIENT_NO_SIGNALS}),
    Case("signal_timeout_caught", "conf_signal_timeout_caught", (0.3,),
         result=caught("SignalTimeoutError"), events=(WS, GW, GT, WC),
         not_on={"transient": TRANSIENT_NO_SIGNALS}),
    Case("signal_past_the_buffer_bound_dead_lettered", "conf_signal",
         script=(WaitEvent(GW), Flood("noise", 101), Signal("go", "still on"),
                 NoteDeadLetter("100 signals named 'noise'", after_end=True)),
         result="still on", events=(WS, GW, *(GR,) * 100, GR, GD, WC),
         notes=("dead-lettered: 100 signals named 'noise'",),
         not_on={"transient": TRANSIENT_NO_SIGNALS}),
    Case("signal_to_a_finished_run_refused", "conf_signal",
         script=(WaitEvent(GW), Signal("go", 1),
                 RefusedSignal("late", "RunFinishedError", after_end=True)),
         result=1, events=(WS, GW, GR, GD, WC), notes=("refused RunFinishedError",),
         not_on={"transient": TRANSIENT_NO_SIGNALS}),
    Case("signal_timeout_fails_run", "conf_signal", (0.3,), status="failed",
         error="SignalTimeoutError", events=(WS, GW, GT, WF),
         not_on={"transient": TRANSIENT_NO_SIGNALS}),
    # -- logging ----------------------------------------------------------------------------------
    Case("log_lines_carry_the_run", "conf_log_context",
         result={"workflow_code": {"workflow": "conf_log_context", "step": None,
                                   "attempt": None, "run_id": True},
                 "step": {"workflow": "conf_log_context", "step": "conf_log_context",
                          "attempt": 1, "run_id": True}},
         events=(WS, SS, SC, WC)),
    # -- values -----------------------------------------------------------------------------------
    Case("values_published", "conf_values", result="ok", attempts={"conf_double": 1},
         values={"stage": "done", "total": {"amount": 2, "currency": "EUR"}},
         events=(WS, VS, SS, SC, VS, VS, WC), not_on={"transient": TRANSIENT_NO_VALUES}),
    # -- child workflows -------------------------------------------------------------------------
    Case("child_result", "conf_parent", (21,), result=42, attempts={"conf_double": 1},
         events=(WS, CS, CC, WC), child=Child("completed", 42, (WS, SS, SC, WC)),
         not_on={"transient": TRANSIENT_NO_CHILDREN}),
    Case("grandchild_result", "conf_grandparent", (5,), result=11,
         attempts={"conf_double": 1}, events=(WS, CS, CC, WC),
         child=Child("completed", 10, (WS, CS, CC, WC)),
         not_on={"transient": TRANSIENT_NO_CHILDREN}),
    Case("failing_child_caught", "conf_parent_of_failing", (True,),
         result=caught("ChildWorkflowFailedError", error_type="StepFailedError"),
         attempts={"conf_declined": 1}, events=(WS, CS, CF, WC),
         child=Child("failed", None, (WS, SS, SF, WF)),
         not_on={"transient": TRANSIENT_NO_CHILDREN}),
    Case("failing_child_fails_parent", "conf_parent_of_failing", (False,), status="failed",
         error="ChildWorkflowFailedError", attempts={"conf_declined": 1},
         events=(WS, CS, CF, WF), child=Child("failed", None, (WS, SS, SF, WF)),
         not_on={"transient": TRANSIENT_NO_CHILDREN}),
    Case("parent_close_terminate", "conf_parent_leaves", ("terminate",),
         script=(WaitEvent(GW, child=True), Signal("release")), result="parent done",
         attempts={"conf_cleanup": 1}, events=(WS, CS, GW, GR, GD, WC),
         child=Child("cancelled", None, (WS, GW, XR, XW, SS, SC, WX)),
         not_on={"transient": TRANSIENT_NO_CHILDREN}),
    Case("parent_close_request_cancel", "conf_parent_leaves", ("request_cancel",),
         script=(WaitEvent(GW, child=True), Signal("release")), result="parent done",
         attempts={"conf_cleanup": 1}, events=(WS, CS, GW, GR, GD, WC),
         child=Child("completed", "stopped", (WS, GW, XR, XW, SS, SC, WC)),
         not_on={"transient": TRANSIENT_NO_CHILDREN}),
    Case("parent_close_abandon", "conf_parent_leaves", ("abandon",),
         script=(WaitEvent(GW, child=True), Signal("release"),
                 Signal("go", "still here", to_child=True, after_end=True)),
         result="parent done", events=(WS, CS, GW, GR, GD, WC),
         child=Child("completed", "still here", (WS, GW, GR, GD, WC)),
         not_on={"transient": TRANSIENT_NO_CHILDREN}),
    Case("parent_cancels_child", "conf_parent_cancels_child",
         script=(WaitEvent(GW, child=True), Signal("release")),
         result=caught("ChildWorkflowFailedError", error_type="CancellationError"),
         attempts={"conf_cleanup": 1}, events=(WS, CS, GW, GR, GD, CX, CF, WC),
         child=Child("cancelled", None, (WS, GW, XR, XW, SS, SC, WX)),
         not_on={"transient": TRANSIENT_NO_CHILDREN}),
    # -- cancellation --------------------------------------------------------------------------
    # The step finishes after the cancel and the run ends cancelled with its
    # ``except CancellationError`` cleanup never run (today's engine, on every runtime);
    # a step that stops with check_cancellation (next case) does get its cleanup.
    Case("cancel_during_step", "conf_cancel_in_step", hold=True,
         script=(WaitAttempt("conf_wait_for_cancel"), Cancel()), status="cancelled",
         error="CancellationError", attempts={"conf_wait_for_cancel": 1},
         events=(WS, SS, XR, SC, WX), not_on={"transient": TRANSIENT_NO_CANCEL}),
    Case("check_cancellation_stops_step", "conf_check_cancellation", hold=True,
         script=(WaitAttempt("conf_check_cancellation"), Cancel()), status="cancelled",
         error="CancellationError", attempts={"conf_check_cancellation": 1, "conf_cleanup": 1},
         events=(WS, SS, XR, SF, SS, SC, WX),
         not_on={"transient": TRANSIENT_NO_CANCEL}),
    Case("cancel_during_sleep", "conf_cancel_in_sleep",
         script=(WaitEvent(LS), Cancel(), NoteResultError(after_end=True)),
         notes=("get_result raised WorkflowCancelledError",),
         status="cancelled", error="CancellationError", attempts={"conf_cleanup": 1},
         events=(WS, LS, XR, XW, SS, SC, WX), not_on={"transient": TRANSIENT_NO_CANCEL}),
    Case("cancel_during_hook_wait", "conf_cancel_in_hook",
         script=(RememberHook(), Cancel(),
                 ResumeHook("too late", refused="HookExpiredError", after_end=True)),
         status="cancelled", error="CancellationError", attempts={"conf_cleanup": 1},
         notes=("refused HookExpiredError", "hook cancelled"),
         events=(WS, HC, XR, XW, SS, SC, WX), not_on={"transient": TRANSIENT_NO_CANCEL}),
    Case("cancel_during_signal_wait", "conf_cancel_unhandled",
         script=(WaitEvent(GW), Cancel()), status="cancelled", error="CancellationError",
         events=(WS, GW, XR, XW, WX), not_on={"transient": TRANSIENT_NO_CANCEL}),
    Case("cancel_during_child", "conf_parent_waits_child",
         script=(WaitEvent(GW, child=True), Cancel()), status="cancelled",
         error="CancellationError", attempts={"conf_cleanup": 1},
         events=(WS, CS, XR, XW, WX),
         child=Child("cancelled", None, (WS, GW, XR, XW, SS, SC, WX)),
         not_on={"transient": TRANSIENT_NO_CANCEL}),
    # -- shield --------------------------------------------------------------------------------
    Case("shield_runs_cleanup_after_cancel", "conf_shielded_sleep",
         script=(WaitEvent(LS), Cancel()), status="cancelled", error="CancellationError",
         attempts={"conf_cleanup": 1}, events=(WS, LS, XR, XW, LS, LC, SS, SC, WX),
         not_on={"transient": TRANSIENT_NO_CANCEL}),
    Case("shield_without_cancel_is_transparent", "conf_shield_outside_cancel", result=6,
         attempts={"conf_double": 1}, events=(WS, SS, SC, LS, LC, WC)),
    # -- patching ------------------------------------------------------------------------------
    Case("patched_new_run_takes_new_branch", "conf_patched", result=20,
         attempts={"conf_double": 1}, events=(WS, PM, SS, SC, WC)),
    Case("deprecate_patch_records_nothing", "conf_deprecated_patch", result=20,
         attempts={"conf_double": 1}, events=(WS, SS, SC, WC)),
    # -- continue_as_new -----------------------------------------------------------------------
    Case("continue_as_new_chain", "conf_counter", (1, 0), result=12,
         attempts={"conf_double": 3}, events=(WS, SS, SC, CN),
         chain=("continued_as_new", "continued_as_new", "completed"),
         not_on={"transient": TRANSIENT_NO_CONTINUE}),
    # -- run deadline --------------------------------------------------------------------------
    Case("max_duration_cancels_and_fails", "conf_deadline", status="failed",
         error="WorkflowTimeoutError", attempts={"conf_cleanup": 1},
         events=(WS, LS, XR, XW, SS, SC, WF), not_on={"transient": TRANSIENT_NO_DEADLINE}),
    # -- routing: accepted everywhere, acted on by celery workers ---------------------------------
    Case("routed_run_with_priority", "conf_routed", (3,), result=8,
         attempts={"conf_routed_step": 1, "conf_double": 1}, events=(WS, SS, SC, SS, SC, WC)),
    # -- flow control: accepted everywhere, enforced by celery workers ---------------------------
    Case("limited_run_and_steps", "conf_limited", (3,), result=12,
         attempts={"conf_limited_step": 1, "conf_rated_step": 1},
         events=(WS, SS, SC, SS, SC, WC)),
    Case("map_results_in_order", "conf_map", (5,), result=[0, 2, 4, 6, 8],
         attempts={"conf_pair_double": 5}),
    # -- idempotency keys ------------------------------------------------------------------------
    Case("idempotency_key_gives_same_run", "conf_idempotent", idempotent=True,
         script=(StartAgain(),), result=8, attempts={"conf_double": 1}, notes=("same run",),
         events=(WS, SS, SC, WC),
         not_on={"transient": TRANSIENT_NO_KEY}),
]
