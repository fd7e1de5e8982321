"""Conformance cases of issue 24's bounds on what workflow code gives the engine (names,
value keys, durations): each case on every runtime (``runtimes.py``), checked as the
shared suite checks its own (``test_conformance.check_case``). A file of its own, with
its own workflows (``input_bounds_workflows.py``) and its own celery workers."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyworkflow.engine.commands.value import MAX_VALUE_KEYS
from pyworkflow.worker import _runtime
from tests._time_limit import within
from tests._workers import Worker, worker_pool
from tests.conformance import input_bounds_workflows  # noqa: F401 (registers them here)

from .cases import TRANSIENT_NO_HOOKS, TRANSIENT_NO_VALUES, Case
from .runtimes import RUNTIMES, Runtime
from .test_conformance import check_case

MODULE = "tests.conformance.input_bounds_workflows"
WS, WC, VS = "workflow_started", "workflow_completed", "value_set"

CASES: list[Case] = [
    Case("names_past_their_bound_raise_in_the_code", "conf_ib_long_names",
         result={"wait_for_signal": "ValueError naming 200", "hook": "ValueError naming 200",
                 "set_value": "ValueError naming 200"},
         events=(WS, WC), not_on={"transient": TRANSIENT_NO_HOOKS}),
    Case("value_keys_past_their_number_raise_in_the_code", "conf_ib_many_value_keys",
         (MAX_VALUE_KEYS,), result="ValueError",
         values={**{f"k{i}": i for i in range(MAX_VALUE_KEYS)}, "k0": "again"},
         events=(WS, *(VS,) * (MAX_VALUE_KEYS + 1), WC),
         not_on={"transient": TRANSIENT_NO_VALUES}),
    # A sleep is the one wait a transient run has (asyncio.sleep): refused there too.
    Case("sleep_past_100_years_raises_in_the_code", "conf_ib_long_sleep",
         result="ValueError", events=(WS, WC)),
    Case("timeouts_past_100_years_raise_in_the_code", "conf_ib_long_timeouts",
         result={"wait_for_signal": "ValueError", "hook": "ValueError"}, events=(WS, WC),
         not_on={"transient": TRANSIENT_NO_HOOKS}),
    Case("a_step_result_past_its_bound_fails_the_step_for_good", "conf_ib_huge_result",
         result={"caught": "StepFailedError", "names_bound": True},
         attempts={"conf_ib_huge_result": 1},
         events=(WS, "step_scheduled", "step_failed", WC),
         not_on={"transient": "a transient run's values are not encoded (transient.py)"}),
]

#: The suite's runtimes, the celery one served by this file's workers.
BOUNDS_RUNTIMES = [dataclasses.replace(r, fixture="input_bounds_workers") if r.fixture else r
                   for r in RUNTIMES]


@pytest.fixture(scope="module")
def input_bounds_workers(rt: _runtime.Runtime, log_dir: Path) -> Iterator[list[Worker]]:
    with worker_pool(MODULE, log_dir, "confib", count=1, pool="prefork", concurrency=2,
                     queues="default,conf") as pool:
        yield pool


def params() -> list[Any]:
    return [pytest.param(case, runtime, id=f"{case.name}[{runtime.name}]",
                         marks=[pytest.mark.redis,
                                *([pytest.mark.workers] if runtime.fixture else [])])
            for case in CASES for runtime in BOUNDS_RUNTIMES]


#: A case that takes longer failed: without its bound a wait of 100 years would block
#: the in-process runtimes for good, instead of failing.
CASE_DEADLINE_S = 60


@pytest.mark.parametrize(("case", "runtime"), params())
def test_input_bounds_conformance(case: Case, runtime: Runtime,
                                  request: pytest.FixtureRequest) -> None:
    if runtime.fixture is not None:
        request.getfixturevalue(runtime.fixture)  # its workers start outside the deadline
    with within(CASE_DEADLINE_S):  # TimeoutError: a wait was not refused?
        check_case(case, runtime, request)
