"""The order in which the parallel run hands its files to its pytest processes: the
longest first.

``--dist loadfile`` gives each pytest-xdist process whole files, taken in collection
order as processes free up; xdist's own reorder (by number of tests, which dev.py turns
off with ``--no-loadscope-reorder``) put the two-test cluster file, the longest, last:
it started 270 s into a 590 s run and ended it. Handed out longest first, the short
files fill in around the long ones, and the run ends about when the average process
does.

``SECONDS``: a file's time on one process of the parallel run (2 shared cores, four
processes), measured with tests/conftest.py's per-test durations summed per file and
rounded. Only the order matters, so rough figures do; a file not listed counts as
nothing and keeps its place among the others after the listed ones.
"""

from __future__ import annotations

SECONDS: dict[str, float] = {
    "tests/worker/test_cluster.py": 130,
    "tests/worker/test_chaos_small.py": 60,
    "tests/worker/test_chaos_small_cluster.py": 70,
    "tests/worker/test_worker_redis_restart.py": 80,
    "tests/test_wheel.py": 75,
    "tests/cli/test_secrets_never_shown.py": 70,
    "tests/test_schedules.py": 70,
    "tests/cli/test_examples_cli.py": 60,
    "tests/workflow_api/test_patching_integration.py": 60,
    "tests/worker/test_step_outage.py": 55,
    "tests/routing/test_routing_workers.py": 50,
    "tests/conformance/test_conformance.py": 50,
    "tests/local/test_local_resume.py": 50,
    "tests/workflow_api/test_signals_integration.py": 50,
    "tests/flow/test_run_limits.py": 47,
    "tests/actors/test_lease_under_load.py": 45,
    "tests/actors/test_lease_busy_turn.py": 30,
    "tests/test_tracing.py": 42,
    "tests/worker/test_app_log.py": 36,
    "tests/workflow_api/test_continue_as_new.py": 35,
    "tests/flow/test_flow_visible.py": 34,
    "tests/testing/test_local_examples.py": 34,
    "tests/workflow_api/test_messages_integration.py": 33,
    "tests/test_retention.py": 33,
    "tests/worker/test_fault_tolerance.py": 33,
    "tests/web/test_browser.py": 30,
    "tests/client/test_client_starts.py": 30,
    "tests/routing/test_schedule_routing.py": 26,
    "tests/test_cli_history.py": 23,
    "tests/actors/test_actor_recovery.py": 22,
    "tests/worker/test_hook_delivery.py": 21,
    "tests/cli/test_local_runs_list.py": 21,
    "tests/cli/test_hook_door.py": 20,
    "tests/worker/test_sentinel.py": 18,
    "tests/worker/test_rabbitmq_broker.py": 17,
    "tests/worker/test_step_timeouts.py": 17,
    "tests/web/test_queues_browser.py": 17,
    "tests/flow/test_limits_browser.py": 17,
    "tests/actors/test_steps_in_place.py": 17,
    "tests/actors/test_malformed_mailbox.py": 16,
    "tests/routing/test_step_hand_back.py": 15,
    "tests/workflow_api/test_children_crash.py": 15,
    "tests/web/test_event_log_browser.py": 15,
    "tests/adopt/test_beat_import.py": 15,
    "tests/actors/test_held_tasks.py": 15,
    "tests/test_docs_build.py": 15,
    "tests/workflow_api/test_children_integration.py": 15,
}


def file_seconds(nodeid: str) -> float:
    """The listed time of the file a test id (``path::name``) belongs to, else 0."""
    return SECONDS.get(nodeid.split("::", 1)[0], 0.0)
