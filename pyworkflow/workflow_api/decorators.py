"""``@workflow`` and ``@step``: register a function by name, keep it callable.

A decorated step called inside a workflow returns a future the run resolves from
its journal (the step itself runs as a Celery task on any worker); called
anywhere else it just runs, so steps stay ordinary, testable functions. Both
decorators work bare (``@step``) and called (``@step(max_retries=5)``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, overload

from ..durations import parse_duration
from ..engine import in_workflow
from ..engine.commands import STEP
from ..flow.limit import Limit, check_key, check_limit, check_step_keys
from ..flow.rate import parse_rate
from ..local.transient import call_step
from ..registry import StepDef, WorkflowDef, register_step, register_workflow
from ..retry import validate_retry_delay
from ..routing import check_priority, check_queue

F = TypeVar("F", bound=Callable[..., Any])

WORKFLOW_ATTR = "__pyworkflow_workflow__"
STEP_ATTR = "__pyworkflow_step__"


#: The options ``@workflow`` takes, and the check each value must pass.
WORKFLOW_OPTIONS: dict[str, Callable[[Any], object]] = {
    "recover_on_worker_loss": lambda v: isinstance(v, bool),
    "max_recovery_attempts": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
    "max_duration": lambda v: parse_duration(v) > 0,
    "retention": lambda v: v is None or parse_duration(v) >= 0,
    "durable": lambda v: isinstance(v, bool),
    "queue": lambda v: bool(check_queue(v)),
    "priority": lambda v: check_priority(v) is not None,
    "concurrency": lambda v: isinstance(check_limit(v, "@workflow"), Limit),
}


def _check_workflow_options(options: dict[str, Any]) -> None:
    """Refuse an unknown option or a bad value at import time, naming it: a typo such
    as ``max_duraton="1h"`` must not be silently ignored."""
    for key, value in options.items():
        check = WORKFLOW_OPTIONS.get(key)
        if check is None:
            raise TypeError(f"@workflow got an unknown option {key!r}; the options are "
                            f"{', '.join(sorted(WORKFLOW_OPTIONS))} (and name)")
        try:
            ok = check(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"@workflow option {key}={value!r}: {exc}") from None
        if not ok:
            raise ValueError(f"@workflow option {key}={value!r} is not valid")


@overload
def workflow(fn: F, /) -> F: ...
@overload
def workflow(fn: None = None, /, *, name: str | None = None,
             **options: Any) -> Callable[[F], F]: ...


def workflow(fn: Any = None, /, *, name: str | None = None, **options: Any) -> Any:
    """Declare a durable workflow. ``name`` defaults to the function's name.

    Options (checked here, at import time): ``recover_on_worker_loss`` (default True),
    ``max_recovery_attempts`` (default 3), ``max_duration`` (a duration: past it the
    run is cancelled, its cleanup runs, and it ends failed with
    ``WorkflowTimeoutError``), ``durable`` (default True; False makes every run of it
    transient: in-process, nothing journaled, see ``pyworkflow/local/transient.py``),
    ``queue`` (the queue its runs' turns and steps go to, see ``pyworkflow.routing``;
    default: the default queue), ``priority`` (0..9, higher first; default 5).
    """
    _check_workflow_options(options)

    def decorate(func: F) -> F:
        if options.get("concurrency") is not None:
            options["concurrency"].check_against(func, f"@workflow {name or func.__name__}")
        defn = WorkflowDef(name or func.__name__, func, dict(options))
        register_workflow(defn)
        setattr(func, WORKFLOW_ATTR, defn)
        return func

    return decorate(fn) if fn is not None else decorate


@overload
def step(fn: F, /) -> F: ...
@overload
def step(fn: None = None, /, *, name: str | None = None, max_retries: int = 3,
         retry_delay: Any = "exponential", timeout: Any = None,
         queue: str | None = None, concurrency: Limit | None = None,
         rate_limit: str | None = None, key: Any = None) -> Callable[[F], F]: ...


def step(fn: Any = None, /, *, name: str | None = None, max_retries: int = 3,
         retry_delay: Any = "exponential", timeout: Any = None,
         queue: str | None = None, concurrency: Limit | None = None,
         rate_limit: str | None = None, key: Any = None) -> Any:
    """Declare a step: a unit of work recorded once, retried per its policy. ``queue``:
    the queue its attempts go to (default: the queue of the run that calls it)."""
    if fn is not None and _is_celery_task(fn):  # bare @step stacked on @app.task
        return _from_task(fn)
    if max_retries < 0:
        raise ValueError("max_retries must be >= 0")
    delay = validate_retry_delay(retry_delay)
    timeout_s = None if timeout is None else parse_duration(timeout)
    if queue is not None:
        check_queue(queue, "@step queue")
    # Flow control (docs/guides/flow-control.md): ``concurrency=Limit(...)`` caps the
    # attempts running at once; ``rate_limit="100/m"`` caps how often it starts, shared
    # by all workers, per value of ``key`` (an argument's name or a function of them).
    if concurrency is not None:
        check_limit(concurrency, "@step")
    rate = None if rate_limit is None else parse_rate(rate_limit)
    if key is not None and rate is None:
        raise TypeError("@step(key=...) is the rate limit's key: give rate_limit= too "
                        "(a concurrency limit takes its own: Limit(key=...))")

    def decorate(func: F) -> F:
        if concurrency is not None:
            concurrency.check_against(func, f"@step {name or func.__name__}")
        check_key(key, func, f"@step {name or func.__name__}")
        defn = StepDef(name or func.__name__, func, max_retries, delay, timeout_s,
                       queue=queue, concurrency=concurrency, rate_limit=rate, rate_key=key)
        register_step(defn)

        @functools.wraps(func)
        def call(*args: Any, **kwargs: Any) -> Any:
            run = in_workflow()
            if run is None:  # a plain call, or a transient run's (with retries)
                return call_step(defn, args, kwargs)
            check_step_keys(defn, args, kwargs)  # a bad key fails here, at the call
            return STEP.schedule(run, defn, args, kwargs)

        setattr(call, STEP_ATTR, defn)
        return call  # type: ignore[return-value]

    return decorate(fn) if fn is not None else decorate


def _is_celery_task(fn: Any) -> bool:
    """A Celery task object (duck-typed: this half imports no Celery)."""
    return callable(getattr(fn, "apply_async", None)) and hasattr(fn, "run")


#: What makes a Celery task a step, installed by :mod:`pyworkflow.adopt.task_step`
#: (or, until that loads Celery, :mod:`pyworkflow.adopt.task_adapter`, which the
#: package's facade installs when a workflow-code name is taken from it): they stand on
#: this module, so this half imports no Celery code and no import cycle closes.
task_adapters: list[Callable[[Any], Any]] = []


def _from_task(task: Any) -> Any:
    """``step.from_task(celery_task)``: an existing ``@app.task`` awaited as a durable
    step, retried as its declarations say (see :mod:`pyworkflow.adopt.task_step`)."""
    if not task_adapters:
        raise RuntimeError("step.from_task needs pyworkflow.adopt.task_step imported "
                           "(from pyworkflow import step does it)")
    return task_adapters[-1](task)


step.from_task = _from_task  # type: ignore[attr-defined]
