"""The order in which the parallel run hands its files to its pytest processes: the
longest first.

``--dist loadfile`` gives each pytest-xdist process whole files, taken in collection
order as processes free up; xdist's own reorder (by number of tests, which dev.py turns
off with ``--no-loadscope-reorder``) put the two-test cluster file, the longest, last:
it started 270 s into a 590 s run and ended it. Handed out longest first, the short
files fill in around the long ones, and the run ends about when the average process
does.

``SECONDS``: a file's time in the parallel run (2 cores shared with other work, load
5-10), its tests' durations summed and rounded (the files of 10 s or more; the two
halves of the fault tolerance and conformance tests estimated from the whole). Only the
order matters, so rough figures do; a file not listed counts as nothing and keeps its
place among the others after the listed ones.
"""

from __future__ import annotations

SECONDS: dict[str, float] = {
    "tests/conformance/test_conformance.py": 63,
    "tests/conformance/test_conformance_in_process.py": 41,
    "tests/flow/test_run_limits.py": 92,
    "tests/actors/test_lease_under_load.py": 87,
    "tests/worker/test_poison_runs.py": 85,
    "tests/test_schedules.py": 80,
    "tests/worker/test_chaos_small.py": 78,
    "tests/cli/test_secrets_never_shown.py": 77,
    "tests/worker/test_worker_redis_restart.py": 56,
    "tests/local/test_local_resume.py": 56,
    "tests/routing/test_routing_workers.py": 54,
    "tests/worker/test_step_outage.py": 51,
    "tests/worker/test_fault_tolerance.py": 47,
    "tests/test_wheel.py": 45,
    "tests/worker/test_cluster.py": 43,
    "tests/workflow_api/test_signals_integration.py": 37,
    "tests/testing/test_local_examples.py": 33,
    "tests/client/test_client_starts.py": 33,
    "tests/workflow_api/test_patching_integration.py": 33,
    "tests/workflow_api/test_messages_integration.py": 31,
    "tests/worker/test_chaos_small_cluster.py": 30,
    "tests/cli/test_examples_cli.py": 30,
    "tests/workflow_api/test_continue_as_new.py": 29,
    "tests/actors/test_actor_runtime.py": 26,
    "tests/cli/test_operator_commands.py": 24,
    "tests/web/test_browser.py": 24,
    "tests/workflow_api/test_children_integration.py": 23,
    "tests/worker/test_app_log.py": 23,
    "tests/worker/test_hook_delivery.py": 21,
    "tests/cli/test_cli_imports.py": 21,
    "tests/test_tracing.py": 20,
    "tests/actors/test_actor_recovery.py": 19,
    "tests/worker/test_step_timeouts.py": 17,
    "tests/cli/test_runs_export.py": 17,
    "tests/worker/test_sentinel.py": 16,
    "tests/workflow_api/test_children_crash.py": 15,
    "tests/actors/test_held_tasks.py": 14,
    "tests/actors/test_malformed_mailbox.py": 14,
    "tests/cli/test_purge_scan.py": 14,
    "tests/routing/test_step_hand_back.py": 12,
    "tests/actors/test_lease_busy_turn.py": 12,
}


def file_seconds(nodeid: str) -> float:
    """The listed time of the file a test id (``path::name``) belongs to, else 0."""
    return SECONDS.get(nodeid.split("::", 1)[0], 0.0)


#: The serial run's files, in the order it takes them (a file not listed comes after
#: these). dev.py starts the quiet tests at the same time: their first seconds (four
#: pytest processes collecting, then eight workers starting) load both cores, so the
#: serial run begins with the promises that have the most room (a purge within 60 s, an
#: urgent step within 2 s where 30 ms is usual, a shutdown within 5 s) and keeps the
#: tight ones (a loop stall under 100 ms, two clock reads 5 ms apart) for later. The
#: rate count (its window's end within half a second) comes while the quiet tests wait
#: out their faults: before the partitions heal, about 70 s in.
SERIAL_ORDER: tuple[str, ...] = (
    "tests/test_retention.py",
    "tests/routing/test_routing_workers.py",
    "tests/worker/test_hook_delivery.py",
    "tests/flow/test_rate_limit.py",
    "tests/workflow_api/test_signals_integration.py",
    "tests/flow/test_step_limits.py",
    "tests/test_schedules.py",
    "tests/client/test_aio.py",
    "tests/engine/test_replay.py",
)


#: The quiet run's files (their time there), in the order it hands them out on four
#: processes; dev.py's quiet run collects only these files, and a quiet test in a file
#: not listed fails the collection. xdist gives the first two processes a second file
#: at the start: the SIGKILL recoveries, timed within 10 s, run after the chord test and
#: the beat window, away from the quiet run's first seconds (its processes starting,
#: nine workers starting: there a survivor took so long to start that the victim had
#: finished the step it was to be killed in).
QUIET_SECONDS: dict[str, float] = {
    "tests/adopt/test_durable_chord.py": 31,
    "tests/adopt/test_beat_import.py": 66,
    "tests/worker/test_partitions.py": 72,
    "tests/worker/test_partitions_broker.py": 65,
    "tests/worker/test_fault_tolerance.py": 20,
    "tests/actors/test_actor_recovery.py": 14,
}


def quiet_rank(nodeid: str) -> int:
    """Where a quiet test's file comes in the quiet run (``QUIET_SECONDS``' order)."""
    path = nodeid.split("::", 1)[0]
    files = list(QUIET_SECONDS)
    return files.index(path) if path in files else len(files)


def serial_rank(nodeid: str) -> int:
    """Where a serial test's file comes in the serial run (``SERIAL_ORDER``)."""
    path = nodeid.split("::", 1)[0]
    return SERIAL_ORDER.index(path) if path in SERIAL_ORDER else len(SERIAL_ORDER)


#: Files whose tests wait most of their time on idle workers (a lease running out, a
#: client's retries) and use little CPU: tests/conftest.py marks their tests ``idle``,
#: and dev.py runs them on processes of their own beside the parallel run, where they
#: add little load and no longer hold a parallel process while they wait. Measured
#: alone, one pytest process (wall s, CPU s of every process the file started).
IDLE: dict[str, tuple[float, float]] = {
    "tests/worker/test_poison_runs.py": (53.3, 6.3),
    "tests/conformance/test_conformance.py": (29.5, 5.7),
    "tests/conformance/test_conformance_in_process.py": (13.8, 1.7),
    "tests/worker/test_worker_redis_restart.py": (33.2, 7.0),
    "tests/worker/test_fault_tolerance.py": (33.6, 8.9),
    "tests/worker/test_chaos_small.py": (28.8, 8.4),
    "tests/worker/test_sentinel.py": (23.1, 3.3),
    "tests/actors/test_held_tasks.py": (15.0, 1.0),
    "tests/workflow_api/test_continue_as_new.py": (14.8, 3.7),
    "tests/actors/test_malformed_mailbox.py": (14.1, 2.3),
    "tests/adopt/test_task_as_step.py": (13.7, 3.3),
    "tests/workflow_api/test_children_crash.py": (10.6, 3.4),
    # waits out the client's 9 s of retries for each of its two runs
    "tests/worker/test_step_outage.py": (29.9, 2.3),
    # a worker that cannot connect: the client's 9 s of retries, twice in each of two tests
    "tests/cli/test_secrets_never_shown.py": (68.6, 11.1),
}


def idle(nodeid: str) -> bool:
    """Whether a test's file is listed in ``IDLE``."""
    return nodeid.split("::", 1)[0] in IDLE
