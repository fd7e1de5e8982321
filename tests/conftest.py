"""Test set-up: markers, and a real Redis with a private key prefix for the tests that
need one.

Markers (registered in pyproject.toml, ``--strict-markers``):

* ``redis``: needs a Redis. Given to every test whose fixtures include ``redis_env``
  (``rt`` and the fixtures built on it request it) and to every ``workers`` or
  ``browser`` test; a test marked ``redis`` by hand gets ``redis_env`` set up for it.
* ``workers``: starts real ``pyworkflow worker run`` processes. Given to every test
  whose code, its fixtures' code, or a function of its module or of a ``tests.``
  module they call, names ``Worker`` (or a subclass) or ``worker_pool``
  (tests/_workers.py); a worker started by a test without the marker fails that test,
  so the marker cannot be forgotten. By hand where the workers come from elsewhere
  (ops/chaos/run.py).
* ``browser``: drives headless Chromium (uses the ``browser`` fixture).
* ``slow``: took ten seconds or more; listed in ``SLOW`` below.
* ``idle``: waits most of its time on idle workers, with little CPU; given to every
  test of the files listed in tests/_order.py's ``IDLE``. dev.py runs them beside the
  parallel run, on processes of their own.
* ``quiet``: must not run beside the parallel tests' load (it waits out a long fault
  against a deadline), but may beside another ``quiet`` or ``serial`` test; given by
  hand. A quiet test waits on idle workers: together the four long ones took 16 s of CPU in
  233 s.
* ``serial``: must not share the machine with other tests' load (it measures a latency
  or a clock); given by hand, with the reason. It runs one at a time, beside the
  quiet tests only.

``python3 dev.py test`` runs everything neither ``quiet`` nor ``serial`` nor ``idle`` on
several pytest processes (pytest-xdist), the longest files first (tests/_order.py), and
meanwhile the ``idle`` tests on three processes; then the ``quiet`` tests side by side,
each on a process of its own, and meanwhile, in a pytest run of their own, the
``serial`` tests one at a time; ``--fast`` runs only the tests
marked none of redis, workers, browser and slow (no Redis needed).

Redis: the one named by ``PYWORKFLOW_REDIS_URL``, else the local one on 6379 when it
answers, else the embedded server (started in a temporary data folder and stopped at
the end). It is set up only when a test asks for it; until then
``PYWORKFLOW_REDIS_URL`` points at a closed port, so a test that reaches Redis without
the marker fails instead of writing unprefixed keys. Each session (each xdist worker
is one) has its own key prefix, so its queues, runs and tasks are its own; every key
with the prefix is deleted afterwards.
"""

from __future__ import annotations

import inspect
import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import _order, _workers

#: Where the suite's Redis is named while no test has asked for it: a closed port.
UNREACHABLE = "redis://127.0.0.1:1/0"
#: The caller's own ``PYWORKFLOW_REDIS_URL``, kept across the swap (and passed on to
#: xdist's workers, which inherit the environment).
_CALLER_URL = "PWTEST_REDIS_URL"
#: Referenced by a test's code, its fixtures' code or the functions they call (of their
#: module or of a ``tests.`` module),
#: these (or a subclass of ``Worker``) mean "starts workers".
_WORKER_NAMES = frozenset({"Worker", "worker_pool"})


#: Tests that took ten seconds or more (measured on a 2-core machine, the suite on four
#: pytest processes), by file and name (every parameter). Kept here rather than in
#: each file; an entry that names no collected test fails the session's collection.
SLOW = frozenset({
    "tests/actors/test_actor_recovery.py::test_sigkill_mid_turn_loses_nothing",
    "tests/worker/test_chaos_small.py::test_chaos_small_loses_nothing_on_one_redis",
    "tests/worker/test_chaos_small_cluster.py::test_chaos_small_loses_nothing_on_a_cluster",
    "tests/worker/test_cluster.py::test_examples_01_to_10_complete_on_a_cluster",
    "tests/cli/test_examples_cli.py::test_01_basic_workflow_as_the_readme_runs_it",
    "tests/cli/test_examples_cli.py::test_01_with_wait_follows_the_run_and_exits_0",
    "tests/worker/test_poison_runs.py::test_poison_step_parks_then_retry_runs_the_step_again",
    "tests/worker/test_poison_runs.py::test_poison_turn_parks_then_retry_resumes_where_it_stopped",
    "tests/worker/test_fault_tolerance.py::test_sigkill_during_a_step_recovers_within_10s",
    "tests/local/test_local_resume.py::"
    "test_a_killed_run_waits_for_its_claim_to_lapse_and_reruns_the_step_in_flight",
    "tests/actors/test_malformed_mailbox.py::"
    "test_an_outage_in_a_handler_loses_nothing_and_sets_nothing_aside",
    "tests/worker/test_partitions.py::"
    "test_a_worker_cut_from_redis_and_the_broker_holding_a_turn_a_step_and_firings",
    "tests/worker/test_partitions_broker.py::test_a_worker_cut_from_the_broker_holding_timer_claims",
    "tests/workflow_api/test_patching_integration.py::"
    "test_patched_keeps_an_old_run_on_the_old_branch_and_runs_check_sees_it",
    "tests/test_schedules.py::test_a_half_made_or_unreadable_schedule_is_listed_and_deletable",
    "tests/test_schedules.py::test_a_restarted_worker_catches_up_once_with_skip",
    "tests/test_schedules.py::"
    "test_an_interval_of_2s_starts_one_run_per_firing_then_pause_resume_trigger",
    "tests/cli/test_secrets_never_shown.py::test_a_worker_that_cannot_connect_never_logs_the_password",
    "tests/cli/test_secrets_never_shown.py::test_setup_check_never_prints_the_password",
    "tests/worker/test_sentinel.py::test_a_run_completes_when_sentinels_promote_the_replica_mid_run",
    "tests/workflow_api/test_signals_integration.py::test_a_published_value_is_read_by_the_client_and_the_cli",
    "tests/worker/test_step_outage.py::test_a_step_task_that_meets_an_outage_runs_once_redis_is_back",
    "tests/test_wheel.py::test_wheel_installs_into_a_fresh_environment_and_runs",
    "tests/worker/test_worker_redis_restart.py::"
    "test_workers_survive_repeated_redis_restarts_with_runs_in_flight",
    "tests/adopt/test_durable_chord.py::"
    "test_a_chord_body_runs_once_with_every_result_after_a_sigkill_and_a_redis_restart",
    "tests/adopt/test_beat_import.py::"
    "test_a_beat_entry_fires_each_slot_once_with_three_workers_and_one_killed",
    "tests/flow/test_run_limits.py::"
    "test_a_thousand_runs_over_twenty_keys_never_hold_more_than_three_per_key",
    "tests/flow/test_step_limits.py::test_a_sigkilled_worker_s_slots_come_back_within_the_lease",
    "tests/flow/test_rate_limit.py::"
    "test_twenty_per_second_over_fifteen_seconds_is_three_hundred_starts_across_two_workers",
    "tests/routing/test_routing_workers.py::"
    "test_a_run_on_a_queue_no_worker_reads_waits_once_instead_of_piling_up_turn_tasks",
    "tests/routing/test_routing_workers.py::"
    "test_a_step_on_a_queue_no_worker_reads_waits_in_it_instead_of_being_sent_again",
    "tests/routing/test_step_hand_back.py::"
    "test_a_step_the_worker_lacks_waits_for_a_worker_that_has_it_then_runs_there",
    "tests/routing/test_example_13.py::test_13_routes_billing_and_gpu_work_to_their_pools",
})


def pytest_configure(config: pytest.Config) -> None:
    if _CALLER_URL not in os.environ:
        os.environ[_CALLER_URL] = os.environ.get("PYWORKFLOW_REDIS_URL", "")
    os.environ["PYWORKFLOW_REDIS_URL"] = UNREACHABLE


def _ours(module: str | None, scope: dict[str, Any]) -> bool:
    """Whether a function of ``module`` is looked into: the caller's own module's, or a
    test helper module's (``tests.actors._busy_worker.busy_worker`` starts a worker)."""
    return module is not None and (module == scope.get("__name__")
                                   or module.startswith("tests."))


def _starts_workers_code(func: Any, seen: set[int]) -> bool:
    """Whether ``func``'s code (nested functions included) names a worker starter, or
    calls a function of its module, or of a test helper module, that does."""
    func = inspect.unwrap(func) if callable(func) else func  # @contextmanager helpers
    code = getattr(func, "__code__", None)
    if code is None or id(code) in seen:
        return False
    seen.add(id(code))
    names: set[str] = set()
    stack = [code]
    while stack:
        c = stack.pop()
        names.update(c.co_names)
        stack.extend(k for k in c.co_consts if hasattr(k, "co_names"))
    if names & _WORKER_NAMES:
        return True
    scope = getattr(func, "__globals__", {})
    for name in names:
        obj = scope.get(name)
        if obj is _workers.worker_pool or (isinstance(obj, type)
                                           and issubclass(obj, _workers.Worker)):
            return True
        if callable(obj) and _ours(getattr(obj, "__module__", None), scope) \
                and _starts_workers_code(obj, seen):
            return True
    return False


def _starts_workers(item: pytest.Item) -> bool:
    funcs = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    for defs in (info.name2fixturedefs.values() if info is not None else ()):
        funcs.extend(d.func for d in defs)
    seen: set[int] = set()
    return any(_starts_workers_code(f, seen) for f in funcs)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    slow_seen: set[str] = set()
    for item in items:
        test_id = item.nodeid.split("[", 1)[0]
        if test_id in SLOW:
            item.add_marker(pytest.mark.slow)
            slow_seen.add(test_id)
        if _order.idle(item.nodeid):
            item.add_marker(pytest.mark.idle)
        names = set(getattr(item, "fixturenames", ()))
        if "browser" in names:
            item.add_marker(pytest.mark.browser)
        if _starts_workers(item):
            item.add_marker(pytest.mark.workers)
        if "redis_env" in names or item.get_closest_marker("workers") \
                or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.redis)
    # The parallel run's files longest first (tests/_order.py); a stable sort keeps each
    # file's tests together and in their order. The serial tests after all others, in
    # the serial run's order (a file's serial tests stay together, so a module's
    # workers start once).
    # The quiet tests in the quiet run's order.
    items.sort(key=lambda item: (
        1 + _order.serial_rank(item.nodeid) if item.get_closest_marker("serial") else 0,
        _order.quiet_rank(item.nodeid) if item.get_closest_marker("quiet")
        else -_order.file_seconds(item.nodeid)))
    # A test renamed or removed leaves its entry behind: when whole files were
    # collected, an entry of a collected file must have matched.
    if not any("::" in str(arg) for arg in config.args):
        files = {item.nodeid.split("::", 1)[0] for item in items}
        stale = sorted(t for t in SLOW - slow_seen if t.split("::", 1)[0] in files)
        if stale:
            raise pytest.UsageError(f"tests/conftest.py's SLOW names no test: {stale}")
    # dev.py's serial run collects only the files of tests/_order.py's SERIAL_ORDER
    unlisted = sorted({item.nodeid.split("::", 1)[0] for item in items
                       if item.get_closest_marker("serial")} - set(_order.SERIAL_ORDER))
    if unlisted:
        raise pytest.UsageError(f"serial tests in files not in tests/_order.py's "
                                f"SERIAL_ORDER: {unlisted}")
    # and its quiet run only the files of QUIET_SECONDS
    unlisted = sorted({item.nodeid.split("::", 1)[0] for item in items
                       if item.get_closest_marker("quiet")} - set(_order.QUIET_SECONDS))
    if unlisted:
        raise pytest.UsageError(f"quiet tests in files not in tests/_order.py's "
                                f"QUIET_SECONDS: {unlisted}")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    marked = item.get_closest_marker("workers") is not None
    _workers.may_start_workers = lambda: marked


def _local_redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.3) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class _Quiet:
    def info(self, event: str, **kw: object) -> None:
        print(f"[tests] {event} {kw}")


@pytest.fixture(scope="session")
def redis_env() -> Iterator[dict[str, str]]:
    from pyworkflow.config import load_settings, redis_client
    from pyworkflow.worker import _runtime
    from pyworkflow.worker._embedded_redis import resolve_redis, stop_embedded

    embedded_dir: str | None = None
    url = os.environ.get(_CALLER_URL) or None
    if not url and not _local_redis_answers():
        embedded_dir = tempfile.mkdtemp(prefix="pwtest-redis-")
        settings = resolve_redis(load_settings().__class__(data_dir=embedded_dir), _Quiet(),
                                 probe_default=False)
        url = settings.redis_url
    url = url or "redis://127.0.0.1:6379/0"
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    prefix = f"pwtest-{worker}-{uuid.uuid4().hex[:8]}"
    env = {"PYWORKFLOW_REDIS_URL": url, "PYWORKFLOW_KEY_PREFIX": prefix,
           "PYWORKFLOW_LOG_FORMAT": "json"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    _runtime._runtime = None
    yield env
    client = redis_client(url)
    # Kombu's binding tables for our exchanges: ``_kombu.binding.<exchange>`` and, for
    # queues without an expiry, ``_kombu.binding_permanent.<exchange>`` (which keeps
    # Kombu's sweep off the table). The shared ``_kombu.binding_deadlines`` is not ours.
    for pattern in (f"{prefix}*", f"_kombu.binding.{prefix}*",
                    f"_kombu.binding_permanent.{prefix}*"):
        batch = list(client.scan_iter(match=pattern, count=1000))
        for i in range(0, len(batch), 500):
            client.delete(*batch[i:i + 500])
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    _runtime._runtime = None
    if embedded_dir:
        stop_embedded(embedded_dir)


@pytest.fixture(autouse=True)
def _redis_for_marked(request: pytest.FixtureRequest) -> None:
    """A test marked ``redis`` by hand gets the suite's Redis without naming it."""
    if request.node.get_closest_marker("redis") is not None:
        request.getfixturevalue("redis_env")


@pytest.fixture(scope="session")
def rt(redis_env: dict[str, str]) -> Any:
    import tests.toy_actors  # noqa: F401  (routes the toy behaviours)
    from pyworkflow.worker import _runtime

    return _runtime.runtime()


@pytest.fixture
def captured_tasks(rt: Any) -> Iterator[list[tuple[str, list[Any], dict[str, Any]]]]:
    """The Celery tasks the runtime sends, as (name, args, kwargs), captured instead of
    published: a test runs them itself (``rt.celery.tasks[name].run``)."""
    captured: list[tuple[str, list[Any], dict[str, Any]]] = []
    previous = rt.system._enqueue
    rt.system.set_enqueue(lambda name, args, kwargs, task_id, queue, priority=None:
                          captured.append((name, args, kwargs)))
    yield captured
    if previous is not None:
        rt.system.set_enqueue(previous)


@pytest.fixture
def round_trips(rt: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many pipelines (one round trip each) the runtime's scripts send from here on:
    ``round_trips[0]``."""
    count = [0]
    scripts = type(rt.system.scripts)
    real = scripts.pipeline

    def pipeline(self: Any, build: Any) -> Any:
        count[0] += 1
        return real(self, build)

    monkeypatch.setattr(scripts, "pipeline", pipeline)
    return count


@pytest.fixture(scope="session")
def log_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="pwtest-logs-"))


@pytest.fixture
def own_redis(redis_env: dict[str, str]) -> Iterator[Any]:
    """A Redis server of the test's own (it may stop and restart it), which the runtime
    of this process uses meanwhile (tests/_redis_server.py)."""
    from tests._redis_server import RedisServer
    from tests._runtime_swap import runtime_on

    server = RedisServer().start()
    try:
        with runtime_on({"PYWORKFLOW_REDIS_URL": server.url}):
            yield server
    finally:
        server.stop()
