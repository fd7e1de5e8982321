"""Every command of ``pyworkflow`` that is loaded when named: one table per group.

A command's module is imported only when the command runs (or its own ``--help`` is
asked for), see :mod:`._lazy`; ``--help`` of the group lists the summary given here,
which tests/cli/test_cli_imports.py holds equal to the command's docstring.
"""

from __future__ import annotations

from ._lazy import LazyCommand as C

#: ``pyworkflow COMMAND``
ROOT: dict[str, C] = {
    "dead-letters": C("pyworkflow.cli.dead_letters:dead_letters",
                      "Queue entries and messages workers could not use, with the reason."),
    "hooks": C("pyworkflow.cli.hooks:hooks", "List the hooks runs wait on, deliver payloads "
               "to them, or serve them over HTTP."),
    "queues": C("pyworkflow.cli.queues:queues",
                "Queues: backlog, workers, work waiting for a worker."),
    "runs": C("pyworkflow.cli.runs:runs",
              "List runs, show their status and their event journal."),
    "schedules": C("pyworkflow.cli.schedules:schedules",
                   "Start workflows on a cron expression or an interval."),
    "setup": C("pyworkflow.cli.setup:setup",
               "Show the configuration, or check that it all works (--check)."),
    "web": C("pyworkflow.cli.web:web", "Serve the dashboard, /metrics and the hook endpoint "
             "until Ctrl-C or SIGTERM."),
    "worker": C("pyworkflow.cli.worker:worker", "Run workers."),
    "workflows": C("pyworkflow.cli.workflows:workflows",
                   "List, describe and start the workflows your --module registers."),
}

#: ``pyworkflow runs COMMAND`` beyond those ``runs.py`` defines (list, status, logs,
#: children)
RUNS: dict[str, C] = {
    "cancel": C("pyworkflow.cli.run_control:cancel", "Cancel a run: it stops at its next "
                "checkpoint and runs its cleanup code."),
    "chain": C("pyworkflow.cli.run_chain:chain", "List the runs of RUN_ID's continue-as-new "
               "chain, oldest first (any run of it)."),
    "check": C("pyworkflow.cli.run_check:check", "Replay runs against the code of --module "
               "and report any that would diverge."),
    "export": C("pyworkflow.cli.run_export:export",
                "Write a run's journal as JSON (for pyworkflow.testing.replay)."),
    "purge": C("pyworkflow.cli.run_purge:purge", "Delete every key of finished runs "
               "(journal, record, hooks, index entries)."),
    "retry": C("pyworkflow.cli.run_control:retry",
               "Retry a parked or failed run, once what stopped it is fixed."),
    "signal": C("pyworkflow.cli.run_messages:signal", "Send run RUN_ID a signal NAME (its "
                "code takes it with wait_for_signal(NAME))."),
    "values": C("pyworkflow.cli.run_messages:values", "Show the values run RUN_ID has "
                "published (set_value), or the one under KEY."),
}

#: ``pyworkflow schedules COMMAND`` beyond those ``schedules.py`` defines
SCHEDULES: dict[str, C] = {
    "import-beat": C("pyworkflow.cli.beat:import_beat_command", "Turn a Celery app's "
                     "beat_schedule into schedules (no beat process needed)."),
}
