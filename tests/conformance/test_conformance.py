"""Every conformance case on every runtime: ``<case>[<runtime>]`` (here the celery and
local runtimes; the testing and transient ones: test_conformance_in_process.py).

Each run is reduced to one outcome (status, result or error class, attempts per
step, the journal's event types, its first child's end, its script's notes, ...)
and compared whole with what the case says, so a runtime that differs from the
others fails the case there. Only what the case specifies is compared.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pyworkflow import RunInfo

from .cases import CASES, Case, Ctx
from .runtimes import RUNTIMES, Runtime, Session, attempt_gaps, attempts, journal_waits, opened

#: Journal and Redis timestamps are rounded to the millisecond.
WAIT_SLACK_S = 0.005
#: The runtime whose clock is virtual (its steps' wall-clock start times mean nothing).
VIRTUAL_CLOCK = "testing"


def error_class(info: RunInfo) -> str | None:
    """The short class name of the error a run ended with (recorded bare or qualified)."""
    if not info.error:
        return None
    name = str(info.error.get("type") or "")
    return name.replace(":", ".").rsplit(".", 1)[-1]


def child_end(session: Session, run_id: str, journaled: bool) -> dict[str, Any]:
    info = session.settle(run_id)
    end: dict[str, Any] = {"status": info.status, "result": info.result}
    if journaled:
        end["events"] = tuple(e["type"] for e in session.events(run_id) or [])
    return end


def run_case(case: Case, runtime: Runtime) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run ``case`` on ``runtime``: (what it gave, what it had to give)."""
    tag = f"{case.name}-{runtime.name}-{uuid.uuid4().hex[:8]}"
    key = f"conf-key-{tag}" if case.idempotent else None
    with opened(runtime) as session:
        run_id = session.start(case.workflow, (tag, *case.args), hold=case.hold,
                               idempotency_key=key)
        ctx = Ctx(session, case.workflow, case.args, run_id, tag, key)
        for action in case.script:
            if not action.after_end:
                action.do(ctx)
        info = session.settle(run_id, follow=case.chain is not None)
        for action in case.script:
            if action.after_end:
                action.do(ctx)
        got: dict[str, Any] = {"status": info.status, "result": info.result,
                               "error": error_class(info), "notes": tuple(ctx.notes)}
        want: dict[str, Any] = {"status": case.status, "result": case.result,
                                "error": case.error, "attempts": case.attempts,
                                "notes": case.notes}
        events = session.events(run_id)
        if runtime.journaled and case.events is not None:
            got["events"] = tuple(e["type"] for e in events or [])
            want["events"] = case.events
        if case.child is not None:
            got["child"] = child_end(session, ctx.child(), runtime.journaled)
            want["child"] = {"status": case.child.status, "result": case.child.result}
            if runtime.journaled:
                want["child"]["events"] = case.child.events
        if case.chain is not None:
            got["chain"] = tuple(session.chain(run_id) or ())
            want["chain"] = case.chain
        if case.values is not None:
            got["values"] = session.values(run_id)
            want["values"] = case.values
        got["attempts"] = attempts(tag)  # once the children, too, have ended
        if case.waits:
            # The virtual clock's waits are the journal's; on a real clock, the attempts'
            # own start times: a journal event's time is its commit's, which a loaded
            # machine puts well after the moment the turn decided the retry's due time
            # (once 0.2 s of a 0.2 s delay, in the idle run beside the parallel one).
            waits = (journal_waits(events) if runtime.name == VIRTUAL_CLOCK and events
                     is not None else attempt_gaps(tag))
            got["waits"] = {step: tuple(w >= least - WAIT_SLACK_S for w, least
                                        in zip(waits.get(step, []), leasts, strict=False))
                            for step, leasts in case.waits.items()}
            got["waits_seen"] = {step: tuple(round(w, 3) for w in waits.get(step, []))
                                 for step in case.waits}
            want["waits"] = {step: (True,) * len(leasts) for step, leasts in case.waits.items()}
            want["waits_seen"] = got["waits_seen"]  # shown when the check fails
    return got, want


#: The runtimes whose cases test_conformance_in_process.py runs: a file of their own, so
#: that the parallel run gives the cases two processes (all of them took 104 s on one).
IN_PROCESS = ("testing", "transient")


def case_params(runtimes: list[Runtime]) -> list[Any]:
    """Every case on each of ``runtimes``, as pytest parameters ``<case>[<runtime>]``."""
    return [pytest.param(case, runtime, id=f"{case.name}[{runtime.name}]",
                         # every runtime's attempts are counted in Redis; celery's has workers
                         marks=[pytest.mark.redis,
                                *([pytest.mark.workers] if runtime.fixture else [])])
            for case in CASES for runtime in runtimes]


@pytest.mark.parametrize(("case", "runtime"),
                         case_params([r for r in RUNTIMES if r.name not in IN_PROCESS]))
def test_conformance(case: Case, runtime: Runtime, request: pytest.FixtureRequest) -> None:
    check_case(case, runtime, request)


def check_case(case: Case, runtime: Runtime, request: pytest.FixtureRequest) -> None:
    """The case's outcome on the runtime is what the case says (skipped where the case
    says it does not apply)."""
    reason = case.not_on.get(runtime.name)
    if reason is not None:
        pytest.skip(f"not applicable on {runtime.name}: {reason}")
    if runtime.fixture is not None:
        request.getfixturevalue(runtime.fixture)
    got, want = run_case(case, runtime)
    assert got == want


def test_case_names_are_unique_and_each_case_says_why_it_skips_a_runtime() -> None:
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))
    known = {runtime.name for runtime in RUNTIMES}
    for case in CASES:
        assert set(case.not_on) <= known, case.name
        assert all(reason.strip() for reason in case.not_on.values()), case.name
