"""Issue 24 at the client's doors: what a caller gives ``start`` and the run/hook
lookups is bounded before anything reaches Redis (docs/operations/limits.md).

Real Redis (the session's prefix); no worker is needed: a start only writes its
run's record, index entry and first turn, and the lookups only read.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

import pyworkflow
from pyworkflow import keys
from pyworkflow.client import aio
from pyworkflow.errors import HookNotFoundError, RunNotFoundError
from pyworkflow.limits import MAX_ID_CHARS, MAX_IDEMPOTENCY_KEY_CHARS, is_id_form

WORKFLOW = "client_quick"


def _index_size(rt: Any) -> int:
    return int(rt.redis.zcard(keys.runs_index(rt.settings.key_prefix)))


def _key_holder(rt: Any, key: str) -> Any:
    return rt.redis.get(keys.idempotency_key(rt.settings.key_prefix, key))


# -- idempotency keys ---------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def _workflows() -> None:
    import tests.client_workflows  # noqa: F401  (registers client_quick)


def _bad_keys() -> list[tuple[str, type[Exception], str]]:
    over = "k" * (MAX_IDEMPOTENCY_KEY_CHARS + 1)
    return [(over, ValueError, f"at most {MAX_IDEMPOTENCY_KEY_CHARS} characters"),
            ("k" * (4 * 1024 * 1024), ValueError, f"at most {MAX_IDEMPOTENCY_KEY_CHARS}"),
            ("two\nlines", ValueError, "printable"),
            ("esc\x1b[2J", ValueError, "printable"),
            ("", TypeError, "non-empty string")]


@pytest.mark.parametrize(("key", "error", "says"), _bad_keys())
def test_a_bad_idempotency_key_is_refused_by_both_faces_with_nothing_written(
        rt: Any, key: str, error: type[Exception], says: str) -> None:
    before = _index_size(rt)
    with pytest.raises(error, match=says) as sync_caught:
        pyworkflow.start(WORKFLOW, 1, idempotency_key=key)
    with pytest.raises(error, match=says) as aio_caught:
        asyncio.run(aio.start(WORKFLOW, 1, idempotency_key=key))
    assert str(sync_caught.value) == str(aio_caught.value)  # one check, one message
    assert len(str(sync_caught.value)) < 300  # never the whole key
    assert _index_size(rt) == before
    assert _key_holder(rt, key) is None


def test_a_key_at_the_bound_starts_a_run_and_names_it(rt: Any) -> None:
    key = (uuid.uuid4().hex * 10)[:MAX_IDEMPOTENCY_KEY_CHARS]
    first = pyworkflow.start(WORKFLOW, 1, idempotency_key=key)
    again = asyncio.run(aio.start(WORKFLOW, 1, idempotency_key=key))
    assert again == first and getattr(again, "created", True) is False
    assert _key_holder(rt, key).decode() == str(first)


def test_a_singleton_start_with_a_key_at_its_bound_still_works(rt: Any) -> None:
    """The idempotency key a singleton start builds (``pyworkflow:singleton:<workflow>:
    <key>``) is longer than the caller's bound: it is built from checked parts, and not
    held to it."""
    key = uuid.uuid4().hex * 6 + "x" * 8  # 200 characters, the limit key's own bound
    first = pyworkflow.start(WORKFLOW, 2, key=key, if_running="return")
    assert pyworkflow.start(WORKFLOW, 3, key=key, if_running="return") == first


def test_the_test_environment_holds_keys_to_the_same_bound() -> None:
    from pyworkflow.testing import WorkflowEnvironment

    env = WorkflowEnvironment()
    with pytest.raises(ValueError, match=f"at most {MAX_IDEMPOTENCY_KEY_CHARS} characters"):
        env.start(WORKFLOW, 1, idempotency_key="k" * (MAX_IDEMPOTENCY_KEY_CHARS + 1))


# -- run ids and hook tokens --------------------------------------------------------------

#: Ids no door looks up: longer than the bound, or holding control characters. Each gets
#: a real record below (as if forged into Redis), which the doors must not find.
FORGED_RUN_IDS = ["run-" + "a" * (MAX_ID_CHARS - 3), "run-esc\x1b[2Jx", "run-two\nlines"]


def _forge_run(rt: Any, run_id: str, status: str = "running") -> None:
    from pyworkflow._start_plan import plan_start

    plan = plan_start(WORKFLOW, (1,), {})
    record = {**plan.record, "run_id": run_id, "status": status,
              "values": '{"k": 1}', "result": "1"}
    rt.redis.hset(rt.actor_keys(run_id).record, mapping=record)


def test_the_longest_ids_pyworkflow_makes_are_well_within_the_bound() -> None:
    from pyworkflow import ids
    from pyworkflow.routing import Route
    from pyworkflow.schedules.limits import MAX_SCHEDULE_ID_LENGTH

    schedule = ids.schedule_id("s" * MAX_SCHEDULE_ID_LENGTH)
    longest = ids.scheduled_run_id(schedule, 7_258_118_399_999, Route("q" * 40, 9))
    assert is_id_form(longest) and len(longest) * 1.8 < MAX_ID_CHARS, len(longest)
    assert is_id_form(ids.new_run_id(Route("q" * 40, 9))) and is_id_form(ids.new_hook_token())
    assert not is_id_form("") and not is_id_form(None) and not is_id_form(7)


@pytest.mark.parametrize("run_id", FORGED_RUN_IDS)
def test_a_run_id_past_the_bound_is_not_found_by_both_faces_without_redis(
        rt: Any, run_id: str) -> None:
    _forge_run(rt, run_id)
    sync_calls = [lambda: pyworkflow.get_workflow_run(run_id),
                  lambda: pyworkflow.get_workflow_events(run_id),
                  lambda: pyworkflow.get_values(run_id),
                  lambda: pyworkflow.get_value(run_id, "k"),
                  lambda: pyworkflow.wait_for_run(run_id, timeout=0.1),
                  lambda: pyworkflow.get_result(run_id, timeout=0.1),
                  lambda: pyworkflow.cancel_workflow(run_id),
                  lambda: pyworkflow.retry_run(run_id),
                  lambda: pyworkflow.send_signal(run_id, "go")]
    for call in sync_calls:
        with pytest.raises(RunNotFoundError) as caught:
            call()
        assert caught.value.run_id == run_id and len(str(caught.value)) < 120
    aio_calls = [aio.get_workflow_run(run_id), aio.get_workflow_events(run_id),
                 aio.get_values(run_id), aio.get_value(run_id, "k"),
                 aio.wait_for_run(run_id, timeout=0.1), aio.get_result(run_id, timeout=0.1),
                 aio.cancel_workflow(run_id), aio.retry_run(run_id),
                 aio.send_signal(run_id, "go")]

    async def each() -> list[BaseException | Any]:
        return [await _caught(c) for c in aio_calls]

    assert all(isinstance(e, RunNotFoundError) for e in asyncio.run(each()))


async def _caught(coro: Any) -> BaseException | Any:
    try:
        return await coro
    except Exception as exc:  # noqa: BLE001  (the test looks at which one)
        return exc


def test_a_run_id_at_the_bound_is_looked_up(rt: Any) -> None:
    run_id = "run-" + "b" * (MAX_ID_CHARS - 4)
    _forge_run(rt, run_id, status="completed")
    assert pyworkflow.get_workflow_run(run_id).status == "completed"
    assert asyncio.run(aio.get_result(run_id)) == 1


def test_a_hook_token_past_the_bound_is_not_found_and_the_hook_is_untouched(rt: Any) -> None:
    from pyworkflow.client import hooks

    run_id = "run-" + "h" * (MAX_ID_CHARS - 3)
    token = "t" * (MAX_ID_CHARS + 1)
    hooks.record_hook(token, run_id, 3, "door_limits_hook", None)
    with pytest.raises(HookNotFoundError):
        hooks.get_hook(token)
    with pytest.raises(HookNotFoundError) as caught:
        pyworkflow.resume_hook(token, {"x": 1})
    assert len(str(caught.value)) < 120
    with pytest.raises(HookNotFoundError):
        asyncio.run(aio.resume_hook(token, {"x": 1}))
    assert hooks.list_hooks(run_id=run_id) == []
    assert asyncio.run(aio.list_hooks(run_id=run_id)) == []
    # the record is still pending: no delivery claimed it
    assert rt.hooks.read(token).status == "pending"
    fine = "u" * MAX_ID_CHARS
    hooks.record_hook(fine, "run-door-limits-fine", 3, "door_limits_hook", None)
    assert hooks.get_hook(fine).token == fine


# -- listings -----------------------------------------------------------------------------

def test_list_hooks_limit_is_bounded_like_list_workflow_runs(rt: Any) -> None:
    from pyworkflow.client import MAX_LIST_LIMIT, hooks

    for bad in (MAX_LIST_LIMIT + 1, 0, -1):
        with pytest.raises(ValueError, match=f"from 1 to {MAX_LIST_LIMIT}"):
            hooks.list_hooks(limit=bad)
        with pytest.raises(ValueError, match=f"from 1 to {MAX_LIST_LIMIT}"):
            asyncio.run(aio.list_hooks(limit=bad))
    assert isinstance(hooks.list_hooks(limit=MAX_LIST_LIMIT), list)


@pytest.fixture()
def crowded_schedules(rt: Any) -> Any:
    """More schedules in the index than one listing reads: ``MAX_LISTED + 5`` old index
    entries (without records, as if their records were lost) and one real schedule,
    the newest; all removed afterwards (the session's prefix is shared)."""
    from pyworkflow.schedules import api

    index = keys.schedules_index(rt.settings.key_prefix)
    fake = {f"sched-door-limits-{i}": float(i + 1) for i in range(api.MAX_LISTED + 5)}
    rt.redis.zadd(index, fake)
    sid = api.create_schedule(WORKFLOW, interval="1h", args=[1])
    try:
        yield sid
    finally:
        rt.redis.zrem(index, *fake, sid)
        rt.redis.delete(rt.actor_keys(sid).record)


def test_list_schedules_reads_at_most_max_listed_and_says_how_many_more(
        rt: Any, crowded_schedules: str) -> None:
    from pyworkflow.schedules import api

    indexed = int(rt.redis.zcard(keys.schedules_index(rt.settings.key_prefix)))
    oldest = api.list_schedules()
    assert oldest.truncated and oldest.indexed == indexed
    assert oldest.unread == indexed - api.MAX_LISTED >= 6
    assert crowded_schedules not in {i.schedule_id for i in oldest}  # the newest: unread
    newest = api.list_schedules(newest_first=True)
    assert newest.unread == oldest.unread
    assert newest[0].schedule_id == crowded_schedules
    assert pyworkflow.list_schedules(status="paused").truncated  # the top-level name
