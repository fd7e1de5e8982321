"""What replaying a long run costs on a cache miss: rebuild a run from its journal.

    python ops/bench/replay_cost.py [--events 10000]

Runs a workflow of sequential steps in ``pyworkflow.testing.WorkflowEnvironment``
(in memory, no Redis) until its journal holds about ``--events`` events, then times
rebuilding the run from that journal the way a worker without the run in its cache
does (every event applied, the code re-run to where it waits). Reading the journal
from Redis comes on top (XRANGE: about 1 ms per thousand small events on these
machines, MEASURED.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pyworkflow import step, workflow  # noqa: E402
from pyworkflow.engine import RunBehaviour, memory_ports  # noqa: E402
from pyworkflow.testing import WorkflowEnvironment  # noqa: E402


@step()
async def bench_tick(i: int) -> int:
    return i


@workflow()
async def bench_long(steps: int) -> int:
    total = 0
    for i in range(steps):
        total += await bench_tick(i)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    steps = max(1, (args.events - 2) // 2)  # started + 2 per step + completed
    with WorkflowEnvironment() as env:
        handle = env.start(bench_long, steps)
        handle.result()
        journal = env.journals[handle.run_id]
    behaviour = RunBehaviour(memory_ports())
    times = []
    for _ in range(args.rounds):
        began = time.perf_counter()
        state = behaviour.initial_state(handle.run_id)
        for event in journal:
            behaviour.apply(state, event)
        state.catch_up()
        times.append(time.perf_counter() - began)
        assert state.divergence is None
    per_event_us = statistics.median(times) / len(journal) * 1e6
    print(f"replayed a {len(journal)}-event journal ({steps} steps): median "
          f"{statistics.median(times) * 1000:.0f} ms over {args.rounds} rounds "
          f"({per_event_us:.1f} us per event)")


if __name__ == "__main__":
    main()
