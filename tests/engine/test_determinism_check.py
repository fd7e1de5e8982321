"""``runs check``'s core: replaying a journal against changed code, in memory."""

from __future__ import annotations

from actors import Event
from pyworkflow import patched, sleep, step, workflow
from pyworkflow.local.determinism_check import replay_divergence
from tests.engine.harness import Harness


@step()
async def pay(x: int) -> int:
    return x


@workflow(name="check_flow")
async def original(x: int) -> int:
    await pay(x)
    return await pay(x + 1)


def _recorded() -> Harness:
    h = Harness("run-check")
    (a,) = h.steps(h.send("start", workflow="check_flow", args=[1], kwargs={}))
    h.complete(a, 1)  # now waiting on the second pay()
    return h


def test_an_unpatched_change_is_reported_and_a_patched_one_passes() -> None:
    h = _recorded()
    assert replay_divergence("run-check", "check_flow", "running", h.journal, set()) is None

    @workflow(name="check_flow")
    async def unpatched(x: int) -> int:
        await pay(x)
        await sleep("1m")  # a new command where the journal recorded pay()
        return await pay(x + 1)

    try:
        found = replay_divergence("run-check", "check_flow", "running", h.journal, set())
        assert found is not None
        assert found.position == 2 and found.recorded == "step 'pay'"
        assert found.issued.startswith("sleep(")

        @workflow(name="check_flow")
        async def guarded(x: int) -> int:
            await pay(x)
            if patched("pause-before-second-pay"):
                await sleep("1m")
            return await pay(x + 1)

        assert replay_divergence("run-check", "check_flow", "running", h.journal,
                                 set()) is None
    finally:
        workflow(name="check_flow")(original)


def test_a_workflow_missing_from_the_code_is_reported() -> None:
    h = _recorded()
    first = h.journal[0]
    renamed = Event(first.seq, first.type, {**first.data, "workflow": "no_such_flow"},
                    first.ts, first.msg_id)
    found = replay_divergence("run-check", "no_such_flow", "running",
                              [renamed, *h.journal[1:]], set())
    assert found is not None and "not registered" in found.reason
