"""Workflows the schedule integration tests start (with example 12's)."""

from __future__ import annotations

import importlib

import pyworkflow
from pyworkflow import step, workflow

importlib.import_module("examples.celery.durable.12_schedules")


@step()
async def note(label: str) -> str:
    return label


@workflow()
async def quick(label: str = "tick") -> str:
    return await note(label)


@workflow()
async def slow(label: str = "slow") -> str:
    await pyworkflow.sleep("60s")
    return label
