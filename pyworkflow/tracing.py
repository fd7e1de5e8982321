"""OpenTelemetry tracing (the ``otel`` extra): a run is a trace, each step attempt a span.

Only the OpenTelemetry *API* is used; the application installs the SDK and the
exporter it wants, in the processes that start runs and in the workers. Without
``opentelemetry-api`` installed every function here returns at once (the import is
tried once, at module load), so tracing costs nothing when it is not used.

How a run becomes one trace:

* ``start()`` opens a ``pyworkflow.start <workflow>`` span (a child of the caller's
  current span, e.g. a web request's, or a new trace) and carries its context in
  the start message as a W3C ``traceparent`` carrier (:func:`start_span`);
* the run journals that carrier with its ``workflow_started`` event, so every turn,
  on any worker, after any restart or replay, knows the run's trace without asking
  anything else; it passes it to child runs' starts (children join the trace) and in
  every step task's arguments;
* each step attempt runs inside a ``step <name>`` span (:func:`step_span`), a child
  of the start span, with the run id, call id and attempt as attributes, and an
  error status when the attempt failed.

Spans are not opened for turns: a turn is orchestration, short and frequent, and a
run's trace would be mostly turns; the journal (``pyworkflow runs logs``) has them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

try:  # pragma: no cover - which branch runs depends on what is installed
    from opentelemetry import propagate, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError:  # pragma: no cover
    trace = None  # type: ignore[assignment]

__all__ = ["enabled", "start_span", "step_span"]

TRACER_NAME = "pyworkflow"
#: The tracer provider spans go to; None: OpenTelemetry's global one (what
#: ``trace.set_tracer_provider`` installed). Set it to use another one.
tracer_provider: Any = None
#: Where a start message and the step task's arguments carry the run's trace context.
CARRIER_KEY = "trace"


def enabled() -> bool:
    return trace is not None


@contextlib.contextmanager
def start_span(workflow: str, run_id: str) -> Iterator[dict[str, str] | None]:
    """Around a run's start: yields the carrier to put in its start message (None when
    tracing is off or no span is being recorded)."""
    if trace is None:
        yield None
        return
    tracer = trace.get_tracer(TRACER_NAME, tracer_provider=tracer_provider)
    with tracer.start_as_current_span(
            f"pyworkflow.start {workflow}", kind=SpanKind.PRODUCER,
            attributes={"pyworkflow.run_id": run_id, "pyworkflow.workflow": workflow}) as span:
        if not span.get_span_context().is_valid:
            yield None
            return
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        yield carrier or None


@contextlib.contextmanager
def step_span(carrier: Any, run_id: str, step: str, call_id: int,
              attempt: int) -> Iterator[Any]:
    """Around one step attempt: a span in the run's trace (yields it, or None)."""
    if trace is None:
        yield None
        return
    parent = propagate.extract(carrier) if isinstance(carrier, dict) and carrier else None
    tracer = trace.get_tracer(TRACER_NAME, tracer_provider=tracer_provider)
    with tracer.start_as_current_span(
            f"step {step}", context=parent, kind=SpanKind.CONSUMER,
            record_exception=False, set_status_on_exception=False,
            attributes={"pyworkflow.run_id": run_id, "pyworkflow.step": step,
                        "pyworkflow.call_id": call_id, "pyworkflow.attempt": attempt}) as span:
        yield span


def step_outcome(span: Any, ok: bool, error_type: str | None = None,
                 error: str | None = None) -> None:
    """Mark the attempt's span with how it ended."""
    if span is None or trace is None:
        return
    if ok:
        span.set_status(Status(StatusCode.OK))
    else:
        span.set_status(Status(StatusCode.ERROR, f"{error_type}: {error}"))
        span.set_attribute("pyworkflow.error_type", error_type or "")
