"""A workflow's concurrency limit in the engine (in memory): the start waits for a slot
and records why, the grant begins it with its own start, a cancel while it waits ends it,
cancel_newest refuses, cancel_oldest asks the holder to cancel, and every end lets the
slot go through a task in the final turn's effects. Replay of a journal that waited
rebuilds the same run."""

from __future__ import annotations

from actors import EnqueueTask, Send
from pyworkflow import Limit, step, workflow
from pyworkflow.engine import memory_ports
from pyworkflow.flow.limit import Verdict
from pyworkflow.ids import SLOT_RELEASE_TASK
from pyworkflow.wire import StartRun, encode
from tests.engine.harness import QUEUES, Harness


class Slots:
    """A slot store with ``free`` slots left, that remembers who asked."""

    def __init__(self, free: int, victim: str = "") -> None:
        self.free = free
        self.victim = victim
        self.asked: list[tuple[str, str, str, str]] = []

    def admit(self, limit: str, key: str, holder: str, max_slots: int, policy: str,
              payload: str) -> Verdict:
        self.asked.append((limit, key, holder, policy))
        if self.free > 0:
            self.free -= 1
            return Verdict("held", max_slots - self.free)
        if policy == "cancel_newest":
            return Verdict("refused", max_slots)
        return Verdict("waiting", max_slots, self.victim)


@step(name="gate_echo")
async def echo(value: str) -> str:
    return value


@workflow(name="gate_limited", concurrency=Limit(key="customer_id", max=2))
async def limited(customer_id: str) -> str:
    return await echo(customer_id)


@workflow(name="gate_newest", concurrency=Limit(max=1, policy="cancel_newest"))
async def newest() -> str:
    return "ran"


@workflow(name="gate_oldest", concurrency=Limit(max=1, policy="cancel_oldest"))
async def oldest() -> str:
    return "ran"


def _harness(slots: Slots) -> Harness:
    return Harness(ports=memory_ports(queues=QUEUES, slots=slots))


def _start(h: Harness, workflow_name: str, *args: object) -> object:
    return h.send("start", **encode(StartRun(workflow=workflow_name, args=list(args))))


def _releases(ctx: object) -> list[dict[str, object]]:
    return [e.kwargs for e in ctx.effects  # type: ignore[attr-defined]
            if isinstance(e, EnqueueTask) and e.name == SLOT_RELEASE_TASK]


def test_a_full_limit_makes_the_run_wait_and_the_grant_begins_it() -> None:
    slots = Slots(free=0)
    h = _harness(slots)
    ctx = _start(h, "gate_limited", "42")
    assert h.types() == ["slot_waiting"]
    assert h.record["status"] == "pending"
    assert h.record["waiting_for"] == "waiting for a slot: customer_id=42, 2 of 2 held"
    assert not ctx.effects  # type: ignore[attr-defined]
    slots.free = 1
    ctx = h.send("slot-granted", limit="workflow:gate_limited", key="customer_id=42")
    assert h.types() == ["slot_waiting", "workflow_started", "step_scheduled"]
    assert h.record["waiting_for"] == "" and h.record["status"] == "running"
    assert h.journal[1].data["slot"] == {"limit": "workflow:gate_limited",
                                         "key": "customer_id=42", "max": 2}
    ctx = h.complete(h.steps(ctx)[0], "42")
    assert h.types()[-1] == "workflow_completed"
    assert _releases(ctx) == [{"limit": "workflow:gate_limited", "key": "customer_id=42",
                               "holder": "run:run-test"}]
    again = h.rebuilt()  # a cache miss replays the wait, then the run
    assert again.state.history.finished and again.state.history.slot_waiting is not None


def test_a_run_with_a_free_slot_begins_at_once_and_a_second_grant_changes_nothing() -> None:
    h = _harness(Slots(free=1))
    ctx = _start(h, "gate_limited", "7")
    assert h.types() == ["workflow_started", "step_scheduled"] and len(h.steps(ctx)) == 1
    h.send("slot-granted", limit="workflow:gate_limited", key="customer_id=7")
    assert h.types() == ["workflow_started", "step_scheduled"]


def test_a_run_cancelled_while_it_waits_ends_and_lets_its_place_go() -> None:
    h = _harness(Slots(free=0))
    _start(h, "gate_limited", "9")
    ctx = h.send("cancel", reason="not needed")
    assert h.types() == ["slot_waiting", "cancel_requested", "workflow_cancelled"]
    assert h.record["status"] == "cancelled"
    assert [r["holder"] for r in _releases(ctx)] == ["run:run-test"]


def test_cancel_newest_refuses_the_newcomer_and_cancel_oldest_cancels_the_holder() -> None:
    h = _harness(Slots(free=0))
    ctx = _start(h, "gate_newest")
    assert h.types() == ["workflow_cancelled"] and h.record["status"] == "cancelled"
    assert not _releases(ctx)  # it never held nor awaited a slot
    h = _harness(Slots(free=0, victim="run:run-old"))
    ctx = _start(h, "gate_oldest")
    sent = [e for e in ctx.effects if isinstance(e, Send)]  # type: ignore[attr-defined]
    assert [(e.actor_id, e.kind) for e in sent] == [("run-old", "cancel")]
    assert h.types() == ["slot_waiting"]


def test_limits_are_not_enforced_without_a_slot_store() -> None:
    h = Harness()
    ctx = _start(h, "gate_limited", "1")
    assert h.types() == ["workflow_started", "step_scheduled"]
    assert "slot" not in h.journal[0].data and not _releases(ctx)


def test_an_operator_retry_of_a_failed_run_takes_its_slot_back() -> None:
    slots = Slots(free=1)
    h = _harness(slots)
    ctx = _start(h, "gate_limited", "5")
    task = h.steps(ctx)[0]
    ctx = h.send("step-failed", call_id=task["call_id"], attempt=task["attempt"], ok=False,
                 error_type="ValueError", error="bad", fatal=True)
    assert h.record["status"] == "failed" and len(_releases(ctx)) == 1
    h.send("retry")
    assert slots.asked[-1] == ("workflow:gate_limited", "customer_id=5", "run:run-test",
                               "force")
