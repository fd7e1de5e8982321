"""Example 12: schedules, a workflow started on a cron expression or an interval.

A schedule is an actor of its own (mailbox, journal, durable timer in Redis). Each
firing starts one run whose id derives from (schedule id, fire time), so a crash or a
duplicate timer never starts two runs for one firing.

    pyworkflow --module examples.celery.durable.12_schedules worker run
    pyworkflow --module examples.celery.durable.12_schedules schedules create heartbeat \\
        --interval 10s --arg source=cli --schedule-id heartbeat
    pyworkflow schedules list
    pyworkflow runs list --schedule heartbeat
    pyworkflow schedules pause heartbeat
    pyworkflow schedules trigger heartbeat
    pyworkflow schedules resume heartbeat
    pyworkflow schedules backfill heartbeat --start 2026-01-01T00:00:00Z --end 2026-01-01T00:01:00Z
    pyworkflow schedules delete heartbeat

``nightly_report`` brings its own schedule (``sched-nightly_report``, 03:00 in Paris,
DST included): a worker that imports this module declares it when it starts (an app,
the CLI or another example importing it declares nothing).
"""

from __future__ import annotations

from pyworkflow import scheduled_workflow, step, workflow


@step()
async def record_beat(source: str) -> str:
    return f"beat from {source}"


@workflow()
async def heartbeat(source: str = "schedule") -> str:
    """One step per firing: what a health check or a sync job looks like."""
    return await record_beat(source)


@scheduled_workflow(cron="0 3 * * *", timezone="Europe/Paris", overlap="skip")
async def nightly_report() -> str:
    """Started at 03:00 Paris time every day; a night missed while no worker ran is
    caught up once when one starts (overlap ``skip``)."""
    return await record_beat("nightly")
