"""Workflows for the tracing test. When ``PYWORKFLOW_TEST_SPANS`` names a file, this
module (imported by the worker and its pool's processes) installs the OpenTelemetry
SDK with an exporter that appends each finished span to it as one JSON line (one
``write`` on an ``O_APPEND`` file, so processes do not interleave lines)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from pyworkflow import (
    FatalError,
    continue_as_new,
    hook,
    sleep,
    start_child_workflow,
    step,
    wait_for_signal,
    workflow,
)

_SPANS = os.environ.get("PYWORKFLOW_TEST_SPANS", "")

if _SPANS:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import (
        SimpleSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class LineExporter(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            for span in spans:
                ctx, parent = span.context, span.parent
                assert ctx is not None
                line = json.dumps({
                    "name": span.name, "trace_id": f"{ctx.trace_id:032x}",
                    "span_id": f"{ctx.span_id:016x}",
                    "parent_id": f"{parent.span_id:016x}" if parent else None,
                    "start_ns": span.start_time, "end_ns": span.end_time,
                    "links": [{"trace_id": f"{link.context.trace_id:032x}",
                               "span_id": f"{link.context.span_id:016x}"}
                              for link in span.links],
                    "status": span.status.status_code.name,
                    "attributes": dict(span.attributes or {}), "pid": os.getpid()})
                fd = os.open(_SPANS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    os.write(fd, (line + "\n").encode())
                finally:
                    os.close(fd)
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(LineExporter()))
    trace.set_tracer_provider(provider)


@step(name="trace_charge")
async def charge(order: str) -> str:
    return f"charged {order}"


@step(name="trace_refuse", max_retries=0)
async def refuse() -> None:
    raise FatalError("refused")


@workflow(name="trace_child")
async def child(order: str) -> str:
    return await charge(f"{order}-child")


@workflow(name="trace_order")
async def order(order: str) -> list[str]:
    first = await charge(order)
    second = await start_child_workflow(child, order)
    return [first, second]


@workflow(name="trace_refused")
async def refused() -> None:
    await refuse()


@workflow(name="trace_waits")
async def waits(order: str) -> list[object]:
    """A sleep, a hook wait, a child and a signal wait: each a span in the run's trace."""
    await sleep(0.5)
    approval = await hook("approve", timeout="1m")
    shipped = await start_child_workflow(child, order)
    go = await wait_for_signal("go", timeout="1m")
    return [approval, shipped, go]


@workflow(name="trace_again")
async def again(n: int) -> int:
    await charge(f"again-{n}")
    if n < 1:
        await continue_as_new(n + 1)
    return n
