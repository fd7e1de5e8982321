"""A workflow's concurrency limit, as its runs meet it: take a slot before the code
begins, wait for one durably, let it go when the run ends.

A run of a workflow declared with ``concurrency=Limit(...)`` takes a slot in its start
turn (``ports.slots``). With none free it records ``slot_waiting`` (its limit key, how
many held, its start message) and holds no worker: its record says why it waits. The
slot's grant arrives as a ``slot-granted`` message, and the run begins then, with the
start it was given. A run that ends (any way: completed, failed, cancelled, or a
waiting run cancelled) lets its slot or its place go through a task committed in the
outbox of its final turn (``ids.SLOT_RELEASE_TASK``), so the release is decided in the
same atomic commit that ends the run and is dispatched after it; the sweep
(``flow.sweeper``) is what catches a release that never ran.

With no slot port (the in-process runtimes), a limit is accepted and not enforced.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from actors.effects import EnqueueTask, Send

from ... import events as ev
from ... import ids, serialization
from ...registry import find_workflow
from ...routing import celery_queues
from ...wire import CancelRun, SlotGranted, StartRun, decode, encode
from .base import Handler

if TYPE_CHECKING:
    from ..run import Run


def describe_wait(slot: dict[str, Any]) -> str:
    """What ``runs status`` says of a run waiting for a slot."""
    key = slot.get("key") or slot.get("limit", "")
    return f"waiting for a slot: {key}, {slot.get('held')} of {slot.get('max')} held"


class SlotGate:
    def messages(self) -> dict[str, Handler]:
        return {"slot-granted": self.granted}

    def admit(self, run: Run, message: StartRun) -> dict[str, Any] | None:
        """Before a run begins: ``{}`` when its workflow has no limit (or limits are not
        enforced here), its slot (``limit``, ``key``, ``max``) when it took one, None when
        it waits for one or was refused (recorded here)."""
        defn = find_workflow(message.workflow)
        limit = defn.options.get("concurrency") if defn is not None else None
        store = run.ports.slots
        if limit is None or store is None or defn is None:
            return {}
        name = f"workflow:{defn.name}"
        try:
            key = limit.key_value(defn.fn, serialization.decode(message.args or []),
                                  serialization.decode(message.kwargs or {}))
        except Exception as exc:  # the client checked it; a forged or old start did not
            run.park({"reason": f"the concurrency limit's key could not be computed: {exc}",
                      "error_type": type(exc).__name__})
            return None
        holder = ids.slot_holder_of_run(run.run_id)
        verdict = store.admit(name, key, holder, limit.max, limit.policy,
                              json.dumps({"run_id": run.run_id}))
        slot = {"limit": name, "key": key, "max": limit.max}
        if verdict.state == "held":
            return slot
        if verdict.victim.startswith("run:"):
            victim = verdict.victim[len("run:"):]
            run.effect(Send(victim, "cancel", encode(CancelRun(
                reason=f"cancelled by its concurrency limit (cancel_oldest): {run.run_id} "
                       "arrived")), msg_id=ids.slot_cancel_message_id(victim, run.run_id)))
        if verdict.state == "refused":
            self._refuse(run, message, slot, verdict.held)
            return None
        waiting = {**slot, "held": verdict.held, "start": encode(message)}
        run.emit(ev.SLOT_WAITING, waiting)
        run.project(status="pending", waiting_for=describe_wait(waiting),
                    updated_at=repr(run.now()))
        return None

    def _refuse(self, run: Run, message: StartRun, slot: dict[str, Any], held: int) -> None:
        """``cancel_newest``: every slot is held, so the newcomer ends cancelled at once."""
        reason = (f"cancelled by its concurrency limit (cancel_newest): "
                  f"{slot['key'] or slot['limit']}, {held} of {slot['max']} held")
        run.parent = message.parent
        run.emit(ev.WORKFLOW_CANCELLED, {"reason": reason, "forced": True})
        error = {"type": "CancellationError", "message": reason, "traceback": None}
        run.end_run("cancelled", {"error": json.dumps(error)}, None, error)

    def granted(self, run: Run, message: SlotGranted) -> None:
        """The slot the run waited for is its: take it (confirming the grant) and begin."""
        waiting = run.history.slot_waiting
        store = run.ports.slots
        if waiting is None or run.history.started is not None or store is None:
            return
        start = decode(StartRun, waiting["start"])
        defn = find_workflow(start.workflow)
        limit = defn.options.get("concurrency") if defn is not None else None
        verdict = store.admit(waiting["limit"], waiting["key"],
                              ids.slot_holder_of_run(run.run_id),
                              limit.max if limit is not None else int(waiting["max"]),
                              "queue", json.dumps({"run_id": run.run_id}))
        if verdict.state != "held":
            return  # still waiting: the grant was taken back (a sweep); another comes
        run.project(waiting_for="")
        run.start(start, admitted={k: waiting[k] for k in ("limit", "key", "max")})

    def cancel_waiting(self, run: Run, reason: str | None) -> bool:
        """A run cancelled while it waits for a slot ends now (its place let go)."""
        if run.history.slot_waiting is None or run.history.started is not None \
                or run.history.finished:
            return False
        run.parent = decode(StartRun, run.history.slot_waiting["start"]).parent
        run.emit(ev.WORKFLOW_CANCELLED, {"reason": reason, "forced": True})
        error = {"type": "CancellationError", "message": reason or "cancelled",
                 "traceback": None}
        run.end_run("cancelled", {"error": json.dumps(error), "waiting_for": ""}, None, error)
        return True

    def retake(self, run: Run) -> None:
        """An operator's retry re-opens a run that ended (and let its slot go): it takes
        its slot back, over the max if it must (newcomers then wait until the count is
        below it), so the limit counts it while it runs and its next end lets it go."""
        slot = (run.history.started or {}).get("slot")
        store = run.ports.slots
        if not slot or store is None:
            return
        store.admit(slot["limit"], slot["key"], ids.slot_holder_of_run(run.run_id),
                    int(slot["max"]), "force", json.dumps({"run_id": run.run_id}))

    def on_run_end(self, run: Run) -> None:
        """Let the run's slot (or its place in the wait) go, after the commit."""
        slot = (run.history.started or {}).get("slot") or run.history.slot_waiting
        if not slot or run.ctx is None:
            return
        run.effect(EnqueueTask(
            name=ids.SLOT_RELEASE_TASK, task_id=ids.slot_release_task_id(run.run_id),
            kwargs={"limit": slot["limit"], "key": slot["key"],
                    "holder": ids.slot_holder_of_run(run.run_id)},
            queue=_turns_queue(run)))


def _turns_queue(run: Run) -> str:
    """The run's own turns queue (a worker reading only its queue must get the release)."""
    if run.ports.queue_prefix is None:
        return run.ports.queues["turns"]
    return celery_queues(run.ports.queue_prefix, ids.run_route(run.run_id).queue)["turns"]
