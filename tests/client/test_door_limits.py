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
from pyworkflow.limits import MAX_IDEMPOTENCY_KEY_CHARS

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
