"""Every conformance case on the in-process runtimes, testing and transient (what a case
checks and how: test_conformance.py, which runs the others)."""

from __future__ import annotations

import pytest

from .cases import Case
from .runtimes import RUNTIMES, Runtime
from .test_conformance import IN_PROCESS, case_params, check_case


@pytest.mark.parametrize(("case", "runtime"),
                         case_params([r for r in RUNTIMES if r.name in IN_PROCESS]))
def test_conformance(case: Case, runtime: Runtime, request: pytest.FixtureRequest) -> None:
    check_case(case, runtime, request)
