"""A Celery task's declarations as a step's policy (no Redis, no worker): the mapping
of ``pyworkflow.adopt.task_policy`` and Celery's backoff curve in ``pyworkflow.retry``,
against Celery's own function for the same curve."""

from __future__ import annotations

from typing import Any

import pytest
from celery import Celery
from celery.utils.time import get_exponential_backoff_interval

from pyworkflow.adopt.task_policy import FOREVER, policy_of
from pyworkflow.retry import next_attempt_ms, retry_delay_ms, validate_retry_delay
from pyworkflow.wire.step import StepFailure

app = Celery("adopt_policy", set_as_current=False)


@app.task(name="policy.backoff", bind=True, autoretry_for=(ConnectionError,),
          dont_autoretry_for=(ConnectionRefusedError,), retry_backoff=3,
          retry_backoff_max=20, retry_jitter=False, max_retries=None, soft_time_limit=5,
          time_limit=9, queue="billing")  # (Celery 5.7 deprecates queue: task_routes)
def backoff(self: Any) -> None: ...


app.conf.task_routes = {"policy.plain": {"queue": "reports"}}


@app.task(name="policy.plain", retry_kwargs={"max_retries": 7, "countdown": 12})
def plain() -> None: ...


def test_the_mapping_of_a_tasks_declarations() -> None:
    p = policy_of(backoff._get_current_object())
    assert (p.max_retries, p.retry_delay, p.timeout, p.queue, p.bind) == (
        FOREVER, {"backoff": 3, "max": 20, "jitter": False}, 5.0, "billing", True)
    assert p.retried(ConnectionError()) and not p.retried(ConnectionRefusedError())
    assert not p.retried(ValueError())
    q = policy_of(plain._get_current_object())
    assert (q.max_retries, q.retry_delay, q.bind, q.retry_on, q.queue) == (
        7, 12.0, False, (), "reports")  # the queue from the app's task_routes


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5, 6])
def test_the_backoff_curve_is_celerys(attempt: int) -> None:
    spec = validate_retry_delay({"backoff": 3, "max": 20, "jitter": False})
    celery_s = get_exponential_backoff_interval(3, attempt - 1, 20, full_jitter=False)
    assert retry_delay_ms(spec, attempt) == celery_s * 1000


def test_jitter_stays_within_celerys_range_and_is_a_function_of_the_journal() -> None:
    spec = {"backoff": 1, "max": 600, "jitter": True}
    fail = StepFailure("ConnectionError", "down")
    draws = {next_attempt_ms(fail, 4, 10, spec, now) - now for now in range(1000, 1200)}
    assert draws <= {s * 1000 for s in range(0, 9)} and len(draws) > 3  # 0..2**3 s
    assert next_attempt_ms(fail, 4, 10, spec, 1234) == next_attempt_ms(fail, 4, 10, spec, 1234)


@pytest.mark.parametrize("bad", [{"backoff": -1}, {"backoff": 1, "max": "x"},
                                 {"backoff": 1, "jitter": "yes"}, {"factor": 1}])
def test_a_bad_backoff_mapping_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="retry_delay mapping"):
        validate_retry_delay(bad)
