"""OpenTelemetry: a run is one trace, each step attempt a span in it, on real workers.

The test process records its spans in memory (its start spans); the worker's
processes install the SDK through ``tests.trace_workflows`` and append theirs to a
file, one JSON line each. Skipped when opentelemetry-sdk is not installed.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pyworkflow
from pyworkflow import tracing
from tests._workers import Worker, wait_for

sdk_trace = pytest.importorskip("opentelemetry.sdk.trace",
                                reason="opentelemetry-sdk is not installed")
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

MODULE = "tests.trace_workflows"


@pytest.fixture()
def spans_file(rt: Any, log_dir: Path, tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "spans.jsonl"
    importlib.import_module(MODULE)
    worker = Worker(MODULE, log_dir, "trace", pool="prefork", concurrency=2,
                    extra_env={"PYWORKFLOW_TEST_SPANS": str(path)}).start()
    try:
        yield path
    finally:
        worker.stop()


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_run_is_one_trace_with_a_span_per_step_attempt(
        spans_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exporter = InMemorySpanExporter()
    provider = sdk_trace.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "tracer_provider", provider)

    with provider.get_tracer("test").start_as_current_span("request") as request:
        run_id = pyworkflow.start("trace_order", "o-1")
        refused = pyworkflow.start("trace_refused")
    assert pyworkflow.get_result(run_id, timeout=30) == ["charged o-1", "charged o-1-child"]
    assert pyworkflow.wait_for_run(refused, 30).status == "failed"

    trace_id = f"{request.get_span_context().trace_id:032x}"
    starts = {str((s.attributes or {})["pyworkflow.run_id"]): s
              for s in exporter.get_finished_spans() if s.name.startswith("pyworkflow.start")}
    assert set(starts) == {run_id, refused}
    for span in starts.values():  # the app's request is the parent of each run's start
        assert span.parent is not None
        assert span.parent.span_id == request.get_span_context().span_id

    steps = wait_for(lambda: [s for s in _lines(spans_file) if s["name"].startswith("step ")]
                     if len(_lines(spans_file)) >= 3 else None, 30,
                     message="the workers' step spans")
    by_step = {(s["attributes"]["pyworkflow.step"], s["attributes"]["pyworkflow.run_id"]): s
               for s in steps}
    start_of = {rid: f"{s.get_span_context().span_id:016x}"  # type: ignore[union-attr]
                for rid, s in starts.items()}
    ours = by_step[("trace_charge", run_id)]
    assert ours["trace_id"] == trace_id and ours["parent_id"] == start_of[run_id]
    assert ours["status"] == "OK" and ours["attributes"]["pyworkflow.attempt"] == 1
    # The child run's step is in its parent's trace, under the parent's start.
    child = [s for (name, rid), s in by_step.items() if name == "trace_charge" and rid != run_id]
    assert len(child) == 1 and child[0]["trace_id"] == trace_id
    assert child[0]["parent_id"] == start_of[run_id]
    failed = by_step[("trace_refuse", refused)]
    assert failed["trace_id"] == trace_id and failed["status"] == "ERROR"
    assert failed["parent_id"] == start_of[refused]


def test_no_span_no_trace_carried(rt: Any) -> None:
    """Without a recording tracer (the default no-op provider) nothing is added to the
    start message: the run's journal has no trace context."""
    with tracing.start_span("anything", "run-x") as carrier:
        assert carrier is None
