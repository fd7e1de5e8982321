"""The replay engine: pure, so it runs the same on workers, in-process and in tests.

It takes a run's journal and new messages, runs the workflow's code on a
deterministic loop, and returns new events, effects (step tasks, timers, messages
to other runs) and projections (the run's record). It imports nothing that does I/O
(no redis, celery, kombu, config or runtime); what it needs from outside comes
through ``ports``.

* ``run.py``: the run being replayed and the core verbs its commands use;
* ``commands/``: one class per kind of command, held in one table;
* ``behaviour.py``: the actor behaviour that frames a turn;
* ``history.py``, ``loop.py``, ``context.py``, ``command.py``, ``ports.py``.
"""

from __future__ import annotations

from .behaviour import RunBehaviour
from .context import in_workflow, shield_depth, shielded
from .ports import HookMove, HookStore, Ports, RunStore, memory_ports
from .run import Run

__all__ = ["HookMove", "HookStore", "Ports", "Run", "RunBehaviour", "RunStore", "in_workflow",
           "memory_ports", "shield_depth", "shielded"]
