"""Example 03: a flaky API with retries — RetryableError, FatalError, backoff.

``call_flaky_api`` fails on some attempts: a RetryableError is retried after the
delay it asks for (on a durable timer, so a worker restart does not lose it); a
FatalError fails the step at once. After the last attempt the error is raised in
the workflow, which may catch it.

    pyworkflow --module examples.celery.durable.03_retries worker run
    pyworkflow --module examples.celery.durable.03_retries workflows run \\
        retry_demo_workflow --arg endpoint=/api/data

The outcome is decided by ``endpoint`` so it is reproducible:
``/api/data`` fails twice with a RetryableError then succeeds; ``/api/fatal``
fails with a FatalError; ``/api/down`` never succeeds (retries exhausted).
``retry_after`` defaults to "5s"; tests pass a shorter one.
"""

from __future__ import annotations

from pyworkflow import FatalError, RetryableError, get_step_context, step, workflow

FAILURES_BEFORE_SUCCESS = 2


@step(max_retries=3, retry_delay="exponential")
async def call_flaky_api(endpoint: str, retry_after: str = "5s") -> dict:
    attempt = get_step_context().attempt
    if endpoint == "/api/fatal":
        raise FatalError(f"{endpoint} answered 400 Bad Request: not worth retrying")
    if endpoint == "/api/down" or attempt <= FAILURES_BEFORE_SUCCESS:
        raise RetryableError(f"{endpoint} answered 503 (attempt {attempt})",
                             retry_after=retry_after)
    return {"endpoint": endpoint, "data": [1, 2, 3], "attempts": attempt}


@step()
async def process_response(response: dict) -> dict:
    return {"endpoint": response["endpoint"], "total": sum(response["data"]),
            "attempts": response["attempts"]}


@workflow()
async def retry_demo_workflow(endpoint: str, retry_after: str = "5s") -> dict:
    """Call a flaky API (retried with backoff), then process its response."""
    response = await call_flaky_api(endpoint, retry_after)
    return await process_response(response)
