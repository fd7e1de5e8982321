"""The commands of ``pyworkflow``, each loaded when it is named: one table.

A command's module is imported only when the command runs (or its own ``--help`` is
asked for), see :mod:`._lazy`; ``pyworkflow --help`` lists the summary given here,
which tests/cli/test_cli_imports.py holds equal to the command's docstring. A group's
subcommands load with it (``run_commands``, ``schedule_commands``: ~10 ms more).
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
    "runs": C("pyworkflow.cli.run_commands:runs",
              "List runs, show their status and their event journal."),
    "schedules": C("pyworkflow.cli.schedule_commands:schedules",
                   "Start workflows on a cron expression or an interval."),
    "setup": C("pyworkflow.cli.setup:setup",
               "Show the configuration, or check that it all works (--check)."),
    "web": C("pyworkflow.cli.web:web", "Serve the dashboard, /metrics and the hook endpoint "
             "until Ctrl-C or SIGTERM."),
    "worker": C("pyworkflow.cli.worker:worker", "Run workers."),
    "workflows": C("pyworkflow.cli.workflows:workflows",
                   "List, describe and start the workflows your --module registers."),
}
