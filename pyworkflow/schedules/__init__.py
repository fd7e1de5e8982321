"""Schedules: a workflow started on a cron expression or an interval.

A schedule is an actor of its own (``sched-...``: its own mailbox, journal and
durable timer), so it gets the runtime's guarantees for free: its timer survives
every restart, its decisions are journaled, and each firing's run id is derived
from (schedule id, fire time), so a crash or a duplicate timer never starts two runs
for one firing. One noun per module: ``spec`` (when it fires), ``overlap`` (what a
firing does while a run is still going), ``state`` (rebuilt from its journal),
``behaviour`` (the actor), ``api`` (what apps and the CLI call), ``declared``
(``@scheduled_workflow``), ``info`` (what ``get_schedule`` returns), ``errors``,
``limits`` (every input's size limit, in one place).

This package's facade imports nothing on purpose: the runtime imports
``behaviour`` while it is being built, and ``api`` needs the runtime. Import the
public names from ``pyworkflow`` (or ``pyworkflow.schedules.api``).
"""
