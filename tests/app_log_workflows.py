"""Workflows that log, for tests/test_app_log.py: the workflow through
``pyworkflow.get_logger()``, its step through the standard library and structlog."""

from __future__ import annotations

import logging

import structlog

from pyworkflow import get_logger, step, wait_for_signal, workflow

log = get_logger("tests.app_log")
std = logging.getLogger("tests.app_log.step")
plain = logging.getLogger("tests.app_log.plain")


@step()
async def app_log_greet(name: str) -> str:
    std.info("stdlib line from the step for %s", name)
    structlog.get_logger("tests.app_log.step").info("structlog line from the step", who=name)
    return f"hello {name}"


@workflow()
async def logging_workflow(name: str) -> str:
    log.info("workflow line before the signal", who=name)
    plain.info("plain workflow line, repeated on every replay")
    await wait_for_signal("go")
    log.info("workflow line after the signal")
    return await app_log_greet(name)
