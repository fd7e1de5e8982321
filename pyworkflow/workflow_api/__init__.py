"""The workflow half: everything workflow and step code may call, and nothing else.

    from pyworkflow.workflow_api import sleep, step, workflow

These calls either hand their work to the engine's command for it (inside a run:
``sleep``, ``wait_for_signal``, ``hook``, ``set_value``, ``patched``, child workflows,
``continue_as_new``) or fall back to plain behaviour outside one (a transient run or a
plain call). None of them reaches Redis or Celery from the workflow's own code, which
is what keeps a replay deterministic. App code (starting runs, reading them, delivering
payloads) is :mod:`pyworkflow.client`.

The package is named ``workflow_api``, not ``workflow``, because ``pyworkflow.workflow``
is the ``@workflow`` decorator (``from pyworkflow import workflow``).
"""

from ..step_context import StepContext, get_step_context
from .children import ChildWorkflowHandle, ParentClosePolicy, start_child_workflow
from .continuation import continue_as_new
from .decorators import step, workflow
from .hooks import TypedHook, define_hook, hook
from .patching import deprecate_patch, patched
from .primitives import is_replaying, now, shield, sleep
from .replay_safe_logger import get_logger
from .signals import wait_for_signal
from .values import set_value

__all__ = ["ChildWorkflowHandle", "ParentClosePolicy", "StepContext", "TypedHook",
           "continue_as_new", "define_hook", "deprecate_patch", "get_step_context", "hook",
           "get_logger", "is_replaying", "now", "patched", "set_value", "shield", "sleep",
           "start_child_workflow", "step", "wait_for_signal", "workflow"]
