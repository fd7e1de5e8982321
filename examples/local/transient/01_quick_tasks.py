"""Transient example 01: quick tasks, no journal.

``@workflow(durable=False)``: the workflow is called in this process and its
steps run as plain (async) calls; nothing is recorded, so it costs nothing and
survives nothing. Fits short jobs you would simply re-run if they failed.

    python examples/local/transient/01_quick_tasks.py
    pyworkflow --module examples.local.transient.01_quick_tasks workflows run \\
        word_stats_workflow --arg text="the quick brown fox jumps over the lazy dog"
"""

from __future__ import annotations

import asyncio

from pyworkflow import step, workflow
from pyworkflow.local.runtime import run_local


@step()
async def count_words(text: str) -> int:
    return len(text.split())


@step()
async def longest_word(text: str) -> str:
    return max(text.split(), key=len)


@workflow(durable=False)
async def word_stats_workflow(text: str) -> dict:
    words, longest = await asyncio.gather(count_words(text), longest_word(text))
    return {"words": words, "longest": longest}


if __name__ == "__main__":
    print(run_local(word_stats_workflow, "the quick brown fox jumps over the lazy dog"))
