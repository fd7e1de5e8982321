"""Workflows whose journals the history tests read: parallel steps (told apart only by
their call ids) and a step that fails every attempt, so the run fails in a retried step
with a traceback of several lines."""

from __future__ import annotations

import asyncio

from pyworkflow import step, workflow

#: Long enough that the step_failed line passes 140 columns (what was cut before).
REFUSAL = "the issuing bank refused it (insufficient funds on the account ending 4242)"


@step(name="hist_fetch")
async def fetch(item: str) -> str:
    return f"fetched {item}"


def _charge_card(amount: float) -> None:
    """A frame of its own, so the step's traceback has more than one line."""
    raise ValueError(f"card declined for {amount}: {REFUSAL}")


@step(name="hist_charge", max_retries=2, retry_delay="0.1s")
async def charge(amount: float) -> None:
    """Fails every attempt: three attempts, then the run fails."""
    _charge_card(amount)


@workflow(name="hist_failing")
async def failing(amount: float) -> None:
    await asyncio.gather(fetch("a"), fetch("b"))
    await charge(amount)
