"""``await pyworkflow.map(step_or_workflow, items, concurrency=50)``: a bounded fan-out
whose results come back in the order of ``items``.

Each item is passed as the one argument of a step (or of a child workflow). At most
``concurrency`` calls are in flight; as one ends the next item starts. The order the
calls are issued in follows the order their results were journaled, so a replay issues
the same commands in the same order (``asyncio.gather`` over a fixed number of
workers, on the run's deterministic loop).

Why batches of child runs past ``batch_size`` items (default 1,000): every call is
three or more events in the journal of the run that makes it, and a run replays its
whole journal on a cache miss and is parked past ``history_limit_events``. Up to
``batch_size`` items the calls are the run's own; past it the items are cut into
batches, each run as one child of the built-in workflow ``pyworkflow.map_batch`` (one
after another, each with the whole ``concurrency``), so 100,000 items cost the parent
two events per batch (200 events) and each child at most ~3 events per item of its
batch. Children rather than a loop of ``continue_as_new``: the results stay with the
caller, in order, and a batch that fails fails the ``map`` at once. The price: the
items and the results travel in the children's arguments and results, so they are
journaled twice (in the child and in the parent's child events); keep items small
(ids, not documents). ``MAX_ITEMS`` bounds one call.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterable
from typing import Any

from ..engine import in_workflow
from ..engine.commands import STEP
from ..registry import get_step
from .children import start_child_workflow
from .decorators import STEP_ATTR, WORKFLOW_ATTR, workflow

#: Items one ``map`` call takes at most.
MAX_ITEMS = 1_000_000
#: The most calls in flight that one ``map`` asks for.
MAX_CONCURRENCY = 10_000
#: Items a run calls itself before ``map`` cuts them into child batches.
DEFAULT_BATCH_SIZE = 1_000
BATCH_WORKFLOW = "pyworkflow.map_batch"


def _target(fn: Any) -> tuple[str, str]:
    """``("step" | "workflow", name)`` of what ``map`` calls."""
    for attr, kind in ((STEP_ATTR, "step"), (WORKFLOW_ATTR, "workflow")):
        defn = getattr(fn, attr, None)
        if defn is not None:
            return kind, defn.name
    raise TypeError(f"pyworkflow.map calls a @step or a @workflow, not {fn!r}")


def _check(items: list[Any], concurrency: int, batch_size: int) -> None:
    for name, value, top in (("concurrency", concurrency, MAX_CONCURRENCY),
                             ("batch_size", batch_size, MAX_ITEMS)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            raise ValueError(f"pyworkflow.map {name}={value!r} must be 1..{top}")
    if len(items) > MAX_ITEMS:
        raise ValueError(f"pyworkflow.map takes at most {MAX_ITEMS} items; got {len(items)}")


async def map(fn: Any, items: Iterable[Any], concurrency: int = 50,  # noqa: A001
              batch_size: int = DEFAULT_BATCH_SIZE) -> list[Any]:
    """Call ``fn(item)`` for every item, at most ``concurrency`` at once; the results in
    the order of ``items``. The first call that fails (after its retries) raises."""
    kind, name = _target(fn)
    listed = list(items)
    _check(listed, concurrency, batch_size)
    if in_workflow() is None:  # a plain call or a transient run: one after the other
        out = []
        for item in listed:
            result = fn(item)
            out.append(await result if inspect.isawaitable(result) else result)
        return out
    if len(listed) <= batch_size:
        return await _bounded(kind, name, listed, concurrency)
    results: list[Any] = []
    for start in range(0, len(listed), batch_size):
        results.extend(await start_child_workflow(
            BATCH_WORKFLOW, kind, name, listed[start:start + batch_size], concurrency))
    return results


async def _bounded(kind: str, name: str, items: list[Any], concurrency: int) -> list[Any]:
    results: list[Any] = [None] * len(items)
    queue = iter(enumerate(items))

    async def call(item: Any) -> Any:
        if kind == "workflow":
            return await start_child_workflow(name, item)
        defn = get_step(name)
        if defn is None:
            raise LookupError(f"step {name!r} is not registered in this process")
        run = in_workflow()
        assert run is not None
        return await STEP.schedule(run, defn, (item,), {})

    async def lane() -> None:
        for index, item in queue:
            results[index] = await call(item)

    await asyncio.gather(*(lane() for _ in range(min(concurrency, len(items)))))
    return results


@workflow(name=BATCH_WORKFLOW)
async def map_batch(kind: str, name: str, items: list[Any], concurrency: int) -> list[Any]:
    """One batch of a large ``pyworkflow.map``: the calls of ``items``, in order."""
    return await _bounded(kind, name, items, concurrency)
