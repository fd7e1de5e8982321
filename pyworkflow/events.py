"""The journal's event names: each defined here once, with its group and meaning.

The engine emits them, the CLI filters and shows them, the tests look for them; all
import these names. Groups:

* *command* events record a command the workflow code issued, in issue order; replay
  matches the code's commands against them (``COMMAND_KINDS`` names each one's kind);
* *resolution* events end a call: the future the code awaits is resolved from them;
* *terminal* events end the run (``TERMINAL_STATUS`` maps each to the run's status);
* the rest record what happened to the run (cancels, recoveries, operator actions).
"""

from __future__ import annotations

WORKFLOW_STARTED = "workflow_started"
STEP_SCHEDULED = "step_scheduled"
STEP_REDISPATCHED = "step_redispatched"
STEP_RETRYING = "step_retrying"
STEP_COMPLETED = "step_completed"
STEP_FAILED = "step_failed"
SLEEP_STARTED = "sleep_started"
SLEEP_COMPLETED = "sleep_completed"
HOOK_CREATED = "hook_created"
HOOK_RECEIVED = "hook_received"
HOOK_EXPIRED = "hook_expired"
HOOK_PAYLOAD_REJECTED = "hook_payload_rejected"
CHILD_STARTED = "child_started"
CHILD_COMPLETED = "child_completed"
CHILD_FAILED = "child_failed"
CHILD_CANCEL_REQUESTED = "child_cancel_requested"
CANCEL_REQUESTED = "cancel_requested"
WAIT_CANCELLED = "wait_cancelled"
WORKFLOW_COMPLETED = "workflow_completed"
WORKFLOW_FAILED = "workflow_failed"
WORKFLOW_CANCELLED = "workflow_cancelled"
WORKFLOW_PARKED = "workflow_parked"
WORKFLOW_RECOVERED = "workflow_recovered"
WORKFLOW_RESUMED = "workflow_resumed"
RUN_RETRIED = "run_retried"
SIGNAL_RECEIVED = "signal_received"
SIGNAL_WAIT_STARTED = "signal_wait_started"
SIGNAL_DELIVERED = "signal_delivered"
SIGNAL_TIMED_OUT = "signal_timed_out"
VALUE_SET = "value_set"
PATCH_MARKED = "patch_marked"
WORKFLOW_CONTINUED_AS_NEW = "workflow_continued_as_new"
HISTORY_LARGE = "history_large"
SLOT_WAITING = "slot_waiting"

#: Every event, with the one line ``runs logs --type`` and the docs show for it.
DESCRIPTIONS: dict[str, str] = {
    WORKFLOW_STARTED: "the run began, with its workflow and arguments",
    STEP_SCHEDULED: "the code called a step; its first attempt was dispatched",
    STEP_REDISPATCHED: "an attempt's task never reached a worker and was sent again",
    STEP_RETRYING: "a step's next attempt was dispatched after a failure",
    STEP_COMPLETED: "a step attempt returned; its result",
    STEP_FAILED: "a step attempt failed (and whether it will be retried)",
    SLEEP_STARTED: "the code began a durable sleep; when it wakes",
    SLEEP_COMPLETED: "a sleep's timer fired",
    HOOK_CREATED: "the code waits for a payload from outside; the hook's token",
    HOOK_RECEIVED: "a hook's payload arrived",
    HOOK_EXPIRED: "a hook's timeout passed with no payload",
    HOOK_PAYLOAD_REJECTED: "a delivered payload did not fit the hook's model (the field "
                           "errors); the hook waits for another",
    CHILD_STARTED: "the code started a child run; its run id",
    CHILD_COMPLETED: "a child run completed; its result",
    CHILD_FAILED: "a child run failed or was cancelled",
    CHILD_CANCEL_REQUESTED: "the code asked a child run to cancel",
    CANCEL_REQUESTED: "someone asked the run to cancel",
    WAIT_CANCELLED: "a sleep, hook, retry wait or child wait was interrupted by a cancel",
    WORKFLOW_COMPLETED: "the run completed; its result",
    WORKFLOW_FAILED: "the run failed; its error",
    WORKFLOW_CANCELLED: "the run ended cancelled",
    WORKFLOW_PARKED: "the run stopped for an operator; the reason",
    WORKFLOW_RECOVERED: "turns of the run died (worker lost) and it was recovered",
    WORKFLOW_RESUMED: "an operator's retry resumed a parked run",
    RUN_RETRIED: "an operator's retry re-opened a failed run",
    SIGNAL_RECEIVED: "an app sent the run a signal; kept until the code waits for it",
    SIGNAL_WAIT_STARTED: "the code waits for the next signal of a name",
    SIGNAL_DELIVERED: "a signal was handed to the code waiting for it",
    SIGNAL_TIMED_OUT: "a wait for a signal ended with no signal",
    VALUE_SET: "the code published a value apps can read",
    PATCH_MARKED: "the code took the new branch of a patch (patched() returned True)",
    WORKFLOW_CONTINUED_AS_NEW: "the run ended and a new run of it goes on (its id)",
    HISTORY_LARGE: "the run's journal passed the warning size: use continue_as_new",
    SLOT_WAITING: "every slot of the workflow's concurrency limit was held: the run waits "
                  "for one, in order of arrival (its limit key, how many held)",
}
ALL: tuple[str, ...] = tuple(DESCRIPTIONS)

#: Terminal events and the run status each one leaves.
TERMINAL_STATUS: dict[str, str] = {WORKFLOW_COMPLETED: "completed",
                                   WORKFLOW_FAILED: "failed",
                                   WORKFLOW_CANCELLED: "cancelled",
                                   WORKFLOW_CONTINUED_AS_NEW: "continued_as_new"}
#: Command events and the kind of command each records, in the order code issues them.
COMMAND_KINDS: dict[str, str] = {
    STEP_SCHEDULED: "step", SLEEP_STARTED: "sleep", HOOK_CREATED: "hook",
    CHILD_STARTED: "child", CHILD_CANCEL_REQUESTED: "cancel_child",
    SIGNAL_WAIT_STARTED: "signal", VALUE_SET: "value", PATCH_MARKED: "patch",
    **{name: "complete" for name in TERMINAL_STATUS},
    WORKFLOW_CONTINUED_AS_NEW: "continue",
}
#: Events that end a call: its future is resolved (or failed) from them.
RESOLUTIONS: frozenset[str] = frozenset({
    STEP_COMPLETED, STEP_FAILED, SLEEP_COMPLETED, HOOK_RECEIVED, HOOK_EXPIRED,
    WAIT_CANCELLED, CHILD_COMPLETED, CHILD_FAILED, SIGNAL_DELIVERED, SIGNAL_TIMED_OUT})
#: The kinds of command that open a *call*: something the run waits on, tracked in its
#: history until a resolution event ends it (the others are done when recorded).
CALL_KINDS: frozenset[str] = frozenset({"step", "sleep", "hook", "child", "signal"})
#: The events that show a run handled an operator's retry.
RETRIES: frozenset[str] = frozenset({RUN_RETRIED, WORKFLOW_RESUMED})

# -- a schedule's journal (``sched-...`` actors; not a run's, so not in ``ALL``) ---------------
SCHEDULE_CREATED = "schedule_created"
SCHEDULE_UPDATED = "schedule_updated"
SCHEDULE_PAUSED = "schedule_paused"
SCHEDULE_RESUMED = "schedule_resumed"
SCHEDULE_DELETED = "schedule_deleted"
SCHEDULE_ARMED = "schedule_armed"
SCHEDULE_FIRED = "schedule_fired"
SCHEDULE_SKIPPED = "schedule_skipped"
SCHEDULE_BUFFERED = "schedule_buffered"
SCHEDULE_CANCEL_SENT = "schedule_cancel_sent"
SCHEDULE_RUN_ENDED = "schedule_run_ended"
SCHEDULE_RECOVERED = "schedule_recovered"
SCHEDULE_STEADY = "schedule_steady"
SCHEDULE_ERRORED = "schedule_errored"

SCHEDULE_DESCRIPTIONS: dict[str, str] = {
    SCHEDULE_CREATED: "the schedule was created (or re-created after a delete); its spec",
    SCHEDULE_UPDATED: "the schedule's spec changed; its new spec",
    SCHEDULE_PAUSED: "the schedule was paused: no firing starts a run until it resumes",
    SCHEDULE_RESUMED: "the schedule was resumed (firings missed while paused are not run)",
    SCHEDULE_DELETED: "the schedule was deleted; runs already started go on",
    SCHEDULE_ARMED: "the timer of the next firing was set (none: the schedule has ended)",
    SCHEDULE_FIRED: "a firing started a run; its fire time, run id and why (timer, "
                    "catch-up, trigger, backfill, buffered)",
    SCHEDULE_SKIPPED: "a firing started no run; why (overlap, already started)",
    SCHEDULE_BUFFERED: "a firing waits for the running run to end (buffer_one, buffer_all, "
                       "cancel_other)",
    SCHEDULE_CANCEL_SENT: "cancel_other asked a running run to cancel",
    SCHEDULE_RUN_ENDED: "a run the schedule started ended; its status",
    SCHEDULE_RECOVERED: "turns of the schedule died; how many, and how many in a row",
    SCHEDULE_STEADY: "a turn committed after dead ones: the count in a row starts again",
    SCHEDULE_ERRORED: "too many dead turns in a row: the schedule is parked in status "
                      "error and takes only delete and resume",
}
