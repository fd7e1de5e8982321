"""Bad flow-control input fails where it is written, naming what is wrong."""

from __future__ import annotations

import pytest

from pyworkflow import Limit, step, workflow
from pyworkflow.flow import parse_rate
from pyworkflow.flow.limit import key_value
from pyworkflow.limits import MAX_LIMIT_KEY_CHARS


@pytest.mark.parametrize("bad", [0, -1, 100_001, 2.5, True])
def test_a_limit_of_no_slots_or_not_a_count_is_refused(bad: object) -> None:
    with pytest.raises((TypeError, ValueError), match="max"):
        Limit(max=bad)  # type: ignore[arg-type]


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="cancel_oldest"):
        Limit(max=1, policy="drop")  # type: ignore[arg-type]


def test_a_key_naming_no_argument_fails_at_decoration() -> None:
    with pytest.raises(ValueError, match="names no argument"):
        @workflow(concurrency=Limit(key="customer", max=2))
        async def spec_wf_typo(customer_id: str) -> None: ...
    with pytest.raises(ValueError, match="names no argument"):
        @step(concurrency=Limit(key="nope", max=2))
        def spec_step_typo(customer_id: str) -> None: ...
    with pytest.raises(ValueError, match="names no argument"):
        @step(rate_limit="5/s", key="nope")
        def spec_rate_typo(customer_id: str) -> None: ...


def test_a_concurrency_option_that_is_not_a_limit_is_refused() -> None:
    with pytest.raises((TypeError, ValueError), match="Limit"):
        @workflow(concurrency=5)
        async def spec_wf_int() -> None: ...


@pytest.mark.parametrize("bad", ["abc", "100", "0/s", "5/fortnight", "-3/m", "10/0s"])
def test_a_rate_that_is_not_a_count_per_period_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="rate_limit"):
        parse_rate(bad)
    with pytest.raises(ValueError, match="rate_limit"):
        @step(rate_limit=bad)
        def spec_rate_bad() -> None: ...


def test_rates_in_their_forms() -> None:
    assert parse_rate("100/m").interval_ms == pytest.approx(600.0)
    assert parse_rate("20/s").interval_ms == pytest.approx(50.0)
    assert parse_rate("3/10s").interval_ms == pytest.approx(10_000 / 3)
    assert parse_rate("5000/h").count == 5000


def test_a_step_key_without_a_rate_is_refused() -> None:
    with pytest.raises(TypeError, match="rate_limit"):
        @step(key="x")
        def spec_key_alone(x: str) -> None: ...


def test_key_values_by_name_by_function_and_none() -> None:
    def fn(customer_id: str, amount: int = 3) -> None: ...
    assert key_value("customer_id", fn, ["42"], {}) == "customer_id=42"
    assert key_value("amount", fn, ["42"], {}) == "amount=3"
    assert key_value(lambda customer_id, **_: customer_id[:1], fn, ["42"], {}) == "4"
    assert key_value(None, fn, ["42"], {}) == ""


def test_a_key_value_past_its_size_limit_is_refused_naming_the_limit() -> None:
    def fn(customer_id: str) -> None: ...
    with pytest.raises(ValueError, match=str(MAX_LIMIT_KEY_CHARS)):
        key_value("customer_id", fn, ["x" * MAX_LIMIT_KEY_CHARS], {})
    with pytest.raises(ValueError, match="printable"):
        key_value("customer_id", fn, ["a\nb"], {})


def test_a_start_whose_limit_key_is_too_long_is_refused_before_anything_is_written() -> None:
    from pyworkflow._start_plan import plan_start

    @workflow(concurrency=Limit(key="customer_id", max=2))
    async def spec_wf_keyed(customer_id: str) -> None: ...

    assert plan_start(spec_wf_keyed, ("42",), {}).workflow == "spec_wf_keyed"
    with pytest.raises(ValueError, match="limit key"):
        plan_start(spec_wf_keyed, ("x" * (MAX_LIMIT_KEY_CHARS + 1),), {})


def test_runs_logs_shows_a_slot_wait_as_its_key_and_count_not_its_start() -> None:
    from pyworkflow.event_text import EventReader

    shown = EventReader().read({"seq": 1, "type": "slot_waiting", "timestamp": 1.5, "data": {
        "limit": "workflow:sync", "key": "customer_id=42", "max": 5, "held": 5,
        "start": {"workflow": "sync", "args": ["42"]}}})
    assert shown.detail() == "customer_id=42  5 of 5 held"


@step(name="spec_keyed_step", concurrency=Limit(key="account", max=1), rate_limit="5/s",
      key="account")
async def spec_keyed_step(account: str) -> str:
    return account


@workflow(name="spec_calls_keyed")
async def spec_calls_keyed(account: str) -> str:
    try:
        return await spec_keyed_step(account)
    except ValueError as exc:
        return f"refused: {exc}"


def test_a_step_call_whose_limit_key_is_too_long_fails_at_the_call() -> None:
    from pyworkflow.testing import WorkflowEnvironment

    with WorkflowEnvironment() as env:
        assert env.start(spec_calls_keyed, "a-1").result() == "a-1"
        refused = env.start(spec_calls_keyed, "x" * (MAX_LIMIT_KEY_CHARS + 1)).result()
        assert refused.startswith("refused: a limit key is at most 200 characters")
