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
  error status when the attempt failed;
* each sleep, hook wait, signal wait and child is a span too (``sleep``, ``hook
  <name>``, ``signal <name>``, ``child <workflow>``), recorded by the worker when the
  wait ends (:class:`WaitSpans`, an instrument called after a batch commits: the
  engine does no I/O), from the time its command was journaled to the time its end
  was, so a wait that outlived many workers is still one span. A child run's own spans
  are siblings of its ``child`` span (under the same start span), not inside it: the
  child span's id exists only once it is recorded, at the child's end, long after the
  child's start message had to name its parent.

A run started without a trace context (from a process with no recording tracer: a
schedule, the CLI, an app without the SDK) is traced under one derived from its run
id (:func:`pyworkflow.ids.trace_carrier`): the trace id and the parent span id are
hashes of it, the same on every worker, so its spans are still one trace; that parent
span is never recorded (a tracing UI shows the trace's root as missing). Its children
join that trace as they join a journaled one.

A ``continue_as_new`` successor is a trace of its own (a chain may run for ever, and a
trace should end): its ``workflow_started`` carries the predecessor's context as
``trace_link`` and its worker records a ``pyworkflow.continued <workflow>`` span in the
new trace with a link to the predecessor's.

Spans are not opened for turns: a turn is orchestration, short and frequent, and a
run's trace would be mostly turns; the journal (``pyworkflow runs logs``) has them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from actors.instruments import Instrument

from . import events as ev

if TYPE_CHECKING:
    from actors.behaviour import TurnContext
    from actors.message import Message

try:  # pragma: no cover - which branch runs depends on what is installed
    from opentelemetry import propagate, trace
    from opentelemetry.trace import Link, SpanKind, Status, StatusCode
except ImportError:  # pragma: no cover
    trace = None  # type: ignore[assignment]

__all__ = ["WaitSpans", "enabled", "start_span", "step_span"]

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


#: The events that end a wait, and the outcome each gives its span.
WAIT_ENDS: dict[str, str] = {
    ev.SLEEP_COMPLETED: "completed", ev.HOOK_RECEIVED: "received", ev.HOOK_EXPIRED: "expired",
    ev.SIGNAL_DELIVERED: "delivered", ev.SIGNAL_TIMED_OUT: "timed_out",
    ev.CHILD_COMPLETED: "completed", ev.CHILD_FAILED: "failed",
    ev.WAIT_CANCELLED: "cancelled",
}


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


def _context_of(carrier: Any) -> Any:
    return propagate.extract(carrier) if isinstance(carrier, dict) and carrier else None


class WaitSpans(Instrument):
    """Records a span for each sleep, hook wait, signal wait and child whose end a batch
    committed (and the link of a continued run), in the run's trace. Added to the
    actor system only when OpenTelemetry is installed (see ``_runtime``)."""

    def batch_committed(self, ctx: TurnContext, state: Any, messages: Sequence[Message],
                        taken_at: float) -> None:
        history = getattr(state, "history", None)
        if trace is None or history is None or not ctx.events:
            return  # not a run (a schedule's actor), or nothing happened
        tracer = None
        for event in ctx.events:
            if event.type in WAIT_ENDS:
                call = history.calls.get(event.data.get("call_id"))
                if call is None or call.kind == "step" or (
                        event.type == ev.WAIT_CANCELLED and call.kind == "child"):
                    continue  # a step's attempts have spans of their own; a child goes on
                tracer = tracer or trace.get_tracer(TRACER_NAME, tracer_provider=tracer_provider)
                self._wait_span(tracer, state, call, event.type, event.ts)
            elif event.type == ev.WORKFLOW_STARTED and event.data.get("trace_link"):
                tracer = tracer or trace.get_tracer(TRACER_NAME, tracer_provider=tracer_provider)
                self._continued_span(tracer, state, event.data, event.ts)

    @staticmethod
    def _wait_span(tracer: Any, run: Any, call: Any, end_type: str, ended: float) -> None:
        name = "sleep" if call.kind == "sleep" else f"{call.kind} {call.name}"
        attributes: dict[str, Any] = {
            "pyworkflow.run_id": run.run_id, "pyworkflow.call_id": call.call_id,
            "pyworkflow.wait": call.kind, "pyworkflow.outcome": WAIT_ENDS[end_type]}
        if call.kind == "sleep" and call.data.get("duration_s") is not None:
            attributes["pyworkflow.duration_s"] = float(call.data["duration_s"])
        elif call.kind in ("hook", "signal"):
            attributes["pyworkflow.name"] = call.name
        elif call.kind == "child":
            attributes["pyworkflow.workflow"] = call.name
            attributes["pyworkflow.child_run_id"] = str(call.data.get("child_run_id", ""))
        span = tracer.start_span(name, context=_context_of(run.trace), kind=SpanKind.INTERNAL,
                                 attributes=attributes,
                                 start_time=_ns(call.started_ts or ended))
        if end_type == ev.CHILD_FAILED:
            span.set_status(Status(StatusCode.ERROR, "the child run failed"))
        span.end(end_time=max(_ns(ended), _ns(call.started_ts)))

    @staticmethod
    def _continued_span(tracer: Any, run: Any, data: dict[str, Any], at: float) -> None:
        before = trace.get_current_span(_context_of(data["trace_link"])).get_span_context()
        span = tracer.start_span(
            f"pyworkflow.continued {data.get('workflow', '?')}", context=_context_of(run.trace),
            kind=SpanKind.INTERNAL, start_time=_ns(at),
            links=[Link(before)] if before.is_valid else None,
            attributes={"pyworkflow.run_id": run.run_id,
                        "pyworkflow.continued_from": str(data.get("continued_from", ""))})
        span.end(end_time=_ns(at))
