"""Continue-as-new on real workers: a chain of 5 runs, and a SIGKILL in the continuing
turn still makes exactly one successor."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pyworkflow
from tests._workers import Worker, wait_for
from tests.cli.test_examples_cli import cli


def test_a_chain_of_five_runs_ends_with_the_right_result_despite_a_sigkill(  # type: ignore[no-untyped-def]
        rt, log_dir: Path) -> None:
    module = "tests.crash_workflows"
    victim = Worker(module, log_dir, "can-victim", pool="threads", concurrency=2).start()
    survivor = Worker(module, log_dir, "can-survivor", pool="threads", concurrency=2)
    key = f"stall-{uuid.uuid4().hex[:6]}"
    full = f"{rt.settings.key_prefix}:test:{key}"
    rt.redis.set(full, 1)
    try:
        import tests.crash_workflows  # noqa: F401

        first = pyworkflow.start("crash_continuing", key, 1, 0)
        wait_for(lambda: rt.redis.get(f"{full}:pid"), 30, 0.05, "the continuing turn to stall")
        survivor.start()
        victim.kill()
        killed = time.monotonic()
        assert pyworkflow.get_result(first, timeout=60, follow=True) == 1 + 2 + 3 + 4 + 5
        print(f"chain finished {time.monotonic() - killed:.1f}s after the kill")
        chain = pyworkflow.run_chain(first)
        assert [r.status for r in chain] == ["continued_as_new"] * 4 + ["completed"]
        assert [r.args[1] for r in chain] == [1, 2, 3, 4, 5]
        for older, newer in zip(chain, chain[1:], strict=False):
            assert older.continued_to == newer.run_id and newer.continued_from == older.run_id
        # Exactly one successor of the run whose continuing turn was killed.
        third = chain[2]
        ended = [e for e in pyworkflow.get_workflow_events(third.run_id)
                 if e["type"] == "workflow_continued_as_new"]
        assert len(ended) == 1
        successors = [r for r in pyworkflow.list_workflow_runs(workflow="crash_continuing",
                                                               limit=1000)
                      if r.continued_from == third.run_id]
        assert len(successors) == 1
        listed = json.loads(cli("--output", "json", "runs", "chain", chain[3].run_id).stdout)
        assert [r["run_id"] for r in listed] == [r.run_id for r in chain]
        assert json.loads(cli("--output", "json", "runs", "status", first).stdout)[
            "continued_to"] == chain[1].run_id
    finally:
        victim.kill()
        survivor.stop()
