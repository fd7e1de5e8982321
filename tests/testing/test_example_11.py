"""Example 11 in the test environment: the chain ends with every item stored."""

from __future__ import annotations

import importlib

from pyworkflow.testing import WorkflowEnvironment


def test_example_11_chains_three_runs() -> None:
    example = importlib.import_module("examples.celery.durable.11_continue_as_new")
    with WorkflowEnvironment() as env:
        h = env.start(example.feed_poller, "news")
        assert h.result() == {"feed": "news", "cursor": 30, "stored": 30}
        statuses = []
        run_id: str | None = h.run_id
        while run_id:
            info = env.get_run(run_id)
            statuses.append(info.status)
            run_id = info.continued_to
        assert statuses == ["continued_as_new", "continued_as_new", "completed"]
