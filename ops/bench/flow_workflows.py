"""The workflows ``flow_control.py`` times (imported by ``bench_workflows``, which the
bench workers load): limits that never bind, so only their price shows."""

from __future__ import annotations

from pyworkflow import Limit, step, workflow


@step()
def bench_flow_plain(i: int) -> int:
    return i


@step(concurrency=Limit(max=10_000))
def bench_flow_slot(i: int) -> int:
    return i


@step(rate_limit="1000000/s")
def bench_flow_rated(i: int) -> int:
    return i


@workflow()
async def bench_flow_steps(kind: str, n: int) -> int:
    """``n`` sequential steps of one kind: plain, slot (a step limit) or rated."""
    fn = {"plain": bench_flow_plain, "slot": bench_flow_slot, "rated": bench_flow_rated}[kind]
    for i in range(n):
        await fn(i)
    return n


@workflow()
async def bench_flow_run_plain(i: int) -> int:
    return await bench_flow_plain(i)


@workflow(concurrency=Limit(key="i", max=10_000))
async def bench_flow_run_limited(i: int) -> int:
    return await bench_flow_plain(i)
