"""Old module paths keep importing: one table, one import hook.

The package was reorganised into halves (``workflow_api``, ``client``, ``worker``,
``local``; see :mod:`pyworkflow`). Apps, docs and scripts written before name modules by
their old flat paths (``pyworkflow.local_runtime``, ``pyworkflow.aio``,
``pyworkflow.testing.environment``, ...). Rather than a shim file per old module, this
finder (appended to ``sys.meta_path`` by ``pyworkflow/__init__``, so a real module at a
path always wins) answers for exactly the names in :data:`MOVED`: it imports the new
module and puts *that same module object* in ``sys.modules`` under the old name too, so
``import pyworkflow.aio`` and ``import pyworkflow.client.aio`` are one module (one set
of globals: a monkeypatch through either name is seen by both).

Only imports are served: ``python -m`` an old path does not run (use the new path), and
type checkers know only the new paths. Nothing is derived from module paths on the wire
(task names, Redis keys, event names are constants), so the move changed none of them.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

#: old dotted path -> where the module lives now
MOVED: dict[str, str] = {
    "pyworkflow._embedded_redis": "pyworkflow.worker._embedded_redis",
    "pyworkflow._runtime": "pyworkflow.worker._runtime",
    "pyworkflow._scripts": "pyworkflow.worker._scripts",
    "pyworkflow.aio": "pyworkflow.client.aio",
    "pyworkflow.celery_app": "pyworkflow.worker.celery_app",
    "pyworkflow.children": "pyworkflow.workflow_api.children",
    "pyworkflow.client_core": "pyworkflow.client.core",
    "pyworkflow.continuation": "pyworkflow.workflow_api.continuation",
    "pyworkflow.counter_buffer": "pyworkflow.worker.counter_buffer",
    "pyworkflow.decorators": "pyworkflow.workflow_api.decorators",
    "pyworkflow.demo": "pyworkflow.client.demo",
    "pyworkflow.determinism_check": "pyworkflow.local.determinism_check",
    "pyworkflow.hook_store": "pyworkflow.worker.hook_store",
    "pyworkflow.hooks": "pyworkflow.client.hooks",
    "pyworkflow.idempotency": "pyworkflow.worker.idempotency",
    "pyworkflow.local_journal": "pyworkflow.local.journal",
    "pyworkflow.local_runtime": "pyworkflow.local.runtime",
    "pyworkflow.patching": "pyworkflow.workflow_api.patching",
    "pyworkflow.primitives": "pyworkflow.workflow_api.primitives",
    "pyworkflow.retention": "pyworkflow.worker.retention",
    "pyworkflow.run_ports": "pyworkflow.worker.run_ports",
    "pyworkflow.run_queries": "pyworkflow.client.run_queries",
    "pyworkflow.signals": "pyworkflow.workflow_api.signals",
    "pyworkflow.step_leases": "pyworkflow.worker.step_leases",
    "pyworkflow.step_metrics": "pyworkflow.worker.step_metrics",
    "pyworkflow.step_task": "pyworkflow.worker.step_task",
    "pyworkflow.step_time_limits": "pyworkflow.worker.step_time_limits",
    "pyworkflow.testing._env_state": "pyworkflow.local._env_state",
    "pyworkflow.testing.clock": "pyworkflow.local.clock",
    "pyworkflow.testing.environment": "pyworkflow.local.environment",
    "pyworkflow.testing.step_runner": "pyworkflow.local.step_runner",
    "pyworkflow.transient": "pyworkflow.local.transient",
    "pyworkflow.turn_metrics": "pyworkflow.worker.turn_metrics",
    "pyworkflow.values": "pyworkflow.workflow_api.values",
    "pyworkflow.worker_heartbeat": "pyworkflow.worker.heartbeat",
}


class MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old path and loads it as the module at its new path."""

    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # a placeholder; exec_module swaps the real module in

    def exec_module(self, module: ModuleType) -> None:
        # The import system returns whatever sys.modules holds under the name once
        # exec_module is done, so the old name ends up bound to the new module itself.
        sys.modules[module.__name__] = importlib.import_module(MOVED[module.__name__])


def install() -> None:
    """Append the finder to ``sys.meta_path`` once (a reload does not add another)."""
    if not any(isinstance(f, MovedModules) for f in sys.meta_path):
        sys.meta_path.append(MovedModules())
