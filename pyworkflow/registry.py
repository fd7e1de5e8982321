"""The registry: which workflows and steps this process knows, by name.

A run's journal names its workflow and steps; a worker finds the code to run by
name here. Importing the user's module (``--module``) fills it. The models of typed
hooks (``define_hook``) are kept here too, by hook name: the workflow half registers
them, and every door that delivers a payload (the client, the local runtimes) checks
with them, without either importing the other.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import WorkflowNotFoundError


@dataclass
class WorkflowDef:
    name: str
    fn: Callable[..., Any]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def signature(self) -> inspect.Signature:
        return inspect.signature(self.fn)

    @property
    def doc(self) -> str | None:
        return inspect.getdoc(self.fn)


@dataclass
class StepDef:
    name: str
    fn: Callable[..., Any]
    max_retries: int = 3
    retry_delay: Any = "exponential"
    timeout: float | None = None
    #: flow control (``pyworkflow.flow``): a concurrency ``Limit``, a ``RateLimit`` and
    #: the rate limit's key (an argument's name or a function of the arguments)
    concurrency: Any = None
    rate_limit: Any = None
    rate_key: Any = None
    #: the queue its attempts go to (None: the calling run's queue; ``routing``)
    queue: str | None = None

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn)


_workflows: dict[str, WorkflowDef] = {}
_steps: dict[str, StepDef] = {}
#: Typed hooks' models by hook name, as ``define_hook`` registered them in this process.
hook_models: dict[str, Any] = {}


def _check_unique(kind: str, table: dict[str, Any], name: str, fn: Callable[..., Any]) -> None:
    """Two modules defining the same name would silently run one another's code (the
    journal names workflows and steps): refuse it. Re-defining a name inside one module
    (a reload, a test) is allowed."""
    existing = table.get(name)
    if existing is not None and existing.fn.__module__ != fn.__module__:
        raise ValueError(
            f"{kind} name {name!r} is defined twice: in {existing.fn.__module__} and in "
            f"{fn.__module__}; give one of them another name (e.g. @{kind}(name=...))")


def register_workflow(defn: WorkflowDef) -> None:
    _check_unique("workflow", _workflows, defn.name, defn.fn)
    _workflows[defn.name] = defn


def register_step(defn: StepDef) -> None:
    _check_unique("step", _steps, defn.name, defn.fn)
    _steps[defn.name] = defn


def get_workflow(name: str) -> WorkflowDef:
    try:
        return _workflows[name]
    except KeyError:
        raise WorkflowNotFoundError(name, sorted(_workflows)) from None


def find_workflow(name: str) -> WorkflowDef | None:
    return _workflows.get(name)


def list_workflows() -> list[WorkflowDef]:
    return [_workflows[k] for k in sorted(_workflows)]


#: Asked for a step name this process has not registered; the first to return a
#: StepDef registers it. ``pyworkflow.adopt`` adds one: a Celery task named in a canvas
#: or a beat entry becomes a step in whichever process first meets its name.
step_finders: list[Callable[[str], StepDef | None]] = []


def get_step(name: str) -> StepDef | None:
    defn = _steps.get(name)
    if defn is None:
        for find in step_finders:
            defn = find(name)
            if defn is not None:
                register_step(defn)
                break
    return defn


def list_steps() -> list[StepDef]:
    return [_steps[k] for k in sorted(_steps)]


def register_hook_model(name: str, model: Any) -> None:
    hook_models[name] = model


def hook_model(name: str) -> Any:
    """The model ``define_hook`` registered for ``name`` in this process, or None."""
    return hook_models.get(name)
