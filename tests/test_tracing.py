"""OpenTelemetry: a run is one trace, each step attempt, sleep, hook wait, signal wait
and child a span in it, on real workers.

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
from actors.behaviour import TurnContext
from pyworkflow import events as ev
from pyworkflow import ids, tracing
from pyworkflow.engine import Ports
from pyworkflow.engine.history import History
from pyworkflow.engine.run import Run
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


def _recording(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, InMemorySpanExporter]:
    """This process's start spans go to memory."""
    exporter = InMemorySpanExporter()
    provider = sdk_trace.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "tracer_provider", provider)
    return provider, exporter


def _spans_of(path: Path, run_ids: set[str], names: set[str]) -> dict[str, dict[str, Any]]:
    """The workers' spans of these runs by name, once every name in ``names`` is there."""
    def found() -> dict[str, dict[str, Any]] | None:
        spans = {s["name"]: s for s in _lines(path)
                 if s["attributes"].get("pyworkflow.run_id") in run_ids}
        return spans if names <= set(spans) else None
    return wait_for(found, 30, message=f"spans {sorted(names)}")  # type: ignore[no-any-return]


def _drive_waits(run_id: str) -> None:
    """Resume the run's hook once it waits on it, and send it its signal."""
    token = wait_for(lambda: next((h.token for h in pyworkflow.list_hooks(
        status="pending", run_id=run_id)), None), 30, message="the run's hook")
    pyworkflow.resume_hook(token, {"ok": True})
    wait_for(lambda: "signal go" in pyworkflow.get_workflow_run(run_id).waiting_on, 30,
             message="the run waiting for its signal")
    pyworkflow.send_signal(run_id, "go", 7)
    assert pyworkflow.get_result(run_id, timeout=30) == [{"ok": True}, "charged o-2-child", 7]


def test_a_run_is_one_trace_with_a_span_per_step_attempt(
        spans_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    provider, exporter = _recording(monkeypatch)

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


def test_sleeps_hooks_children_and_signals_are_spans_in_the_run_trace(
        spans_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    provider, exporter = _recording(monkeypatch)
    with provider.get_tracer("test").start_as_current_span("request") as request:
        run_id = pyworkflow.start("trace_waits", "o-2")
    _drive_waits(run_id)

    trace_id = f"{request.get_span_context().trace_id:032x}"
    start = next(s for s in exporter.get_finished_spans() if s.name.startswith("pyworkflow.start"))
    start_id = f"{start.get_span_context().span_id:016x}"  # type: ignore[union-attr]
    spans = _spans_of(spans_file, {run_id},
                      {"sleep", "hook approve", "child trace_child", "signal go"})
    for name in ("sleep", "hook approve", "child trace_child", "signal go"):
        span = spans[name]
        assert span["trace_id"] == trace_id and span["parent_id"] == start_id, name
        assert span["end_ns"] >= span["start_ns"], name
    sleep, hook, child, signal = (spans[n] for n in ("sleep", "hook approve",
                                                     "child trace_child", "signal go"))
    # Timed from the journal: the sleep took its half second, the waits follow each other.
    # The span starts at sleep_started's timestamp, taken as the turn commits, a moment
    # after the timer's due time was set; a timer that fires on time (a pool process's
    # runner) ends it up to a few ms short of the half second (498.8 ms seen).
    assert sleep["end_ns"] - sleep["start_ns"] >= 490_000_000
    assert sleep["attributes"]["pyworkflow.duration_s"] == 0.5
    assert sleep["end_ns"] <= hook["start_ns"] and hook["end_ns"] <= child["start_ns"]
    assert child["end_ns"] <= signal["start_ns"]
    assert hook["attributes"]["pyworkflow.outcome"] == "received"
    assert signal["attributes"]["pyworkflow.outcome"] == "delivered"
    assert child["status"] != "ERROR"
    # The child run's step lies inside the child's span, in the same trace.
    child_run = child["attributes"]["pyworkflow.child_run_id"]
    step = _spans_of(spans_file, {child_run}, {"step trace_charge"})["step trace_charge"]
    assert step["trace_id"] == trace_id
    assert child["start_ns"] <= step["start_ns"] and step["end_ns"] <= child["end_ns"]


def test_a_run_started_without_a_tracer_is_still_one_trace(
        spans_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No recording tracer where the run is started (a schedule, the CLI): the workers
    trace it under a context derived from its run id, its child included."""
    from opentelemetry import trace

    monkeypatch.setattr(tracing, "tracer_provider", trace.NoOpTracerProvider())
    run_id = pyworkflow.start("trace_waits", "o-2")
    _drive_waits(run_id)
    assert "trace" not in pyworkflow.get_workflow_events(run_id)[0]["data"]  # derived, not kept

    derived = ids.trace_carrier(run_id)["traceparent"].split("-")
    spans = _spans_of(spans_file, {run_id},
                      {"sleep", "hook approve", "child trace_child", "signal go"})
    child_run = spans["child trace_child"]["attributes"]["pyworkflow.child_run_id"]
    spans |= {f"child's {k}": v for k, v in
              _spans_of(spans_file, {child_run}, {"step trace_charge"}).items()}
    assert {s["trace_id"] for s in spans.values()} == {derived[1]}
    assert {s["parent_id"] for s in spans.values()} == {derived[2]}


def test_a_continued_run_is_a_trace_of_its_own_linked_to_its_predecessor(
        spans_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    provider, exporter = _recording(monkeypatch)
    with provider.get_tracer("test").start_as_current_span("request") as request:
        run_id = pyworkflow.start("trace_again", 0)
    assert pyworkflow.wait_for_run(run_id, 30, follow=True).status == "completed"
    successor = pyworkflow.get_workflow_run(run_id).continued_to
    assert successor

    start = next(s for s in exporter.get_finished_spans() if s.name.startswith("pyworkflow.start"))
    spans = _spans_of(spans_file, {successor},
                      {"pyworkflow.continued trace_again", "step trace_charge"})
    own = ids.trace_carrier(successor)["traceparent"].split("-")[1]
    continued = spans["pyworkflow.continued trace_again"]
    assert continued["trace_id"] == own and spans["step trace_charge"]["trace_id"] == own
    assert continued["attributes"]["pyworkflow.continued_from"] == run_id
    assert continued["links"] == [{
        "trace_id": f"{request.get_span_context().trace_id:032x}",
        "span_id": f"{start.get_span_context().span_id:016x}"}]  # type: ignore[union-attr]
    before = _spans_of(spans_file, {run_id}, {"step trace_charge"})["step trace_charge"]
    assert before["trace_id"] == f"{request.get_span_context().trace_id:032x}"


def test_the_derived_trace_context_is_the_same_everywhere() -> None:
    carrier = ids.trace_carrier("run-abc")
    assert carrier == ids.trace_carrier("run-abc") != ids.trace_carrier("run-abd")
    version, trace_id, span_id, flags = carrier["traceparent"].split("-")
    assert (version, flags, len(trace_id), len(span_id)) == ("00", "01", 32, 16)
    run = Run("run-abc", Ports(hooks=None, runs=_NoRuns()))  # type: ignore[arg-type]
    assert run.trace is None  # tracing off: nothing derived, nothing carried
    run.ports.derive_trace = True
    assert run.trace == carrier


class _NoRuns:
    def masked(self, run_id: str) -> set[int]:
        return set()


def test_no_span_no_trace_carried(rt: Any) -> None:
    """Without a recording tracer (the default no-op provider) nothing is added to the
    start message: the run's journal has no trace context."""
    with tracing.start_span("anything", "run-x") as carrier:
        assert carrier is None


def test_wait_spans_outcomes_and_what_gets_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without workers: an expired hook, a timed-out signal, a cancelled sleep and a failed
    child each end a span with their outcome; a step's resolution (the step task has its
    spans), a cancelled wait on a child (the child goes on) and a schedule's batch do not."""
    provider, exporter = _recording(monkeypatch)
    history = History()
    begun: list[tuple[str, dict[str, Any]]] = [
        (ev.HOOK_CREATED, {"call_id": 1, "name": "approve", "token": "t"}),
        (ev.SIGNAL_WAIT_STARTED, {"call_id": 2, "name": "go"}),
        (ev.SLEEP_STARTED, {"call_id": 3, "duration_s": 60}),
        (ev.CHILD_STARTED, {"call_id": 4, "workflow": "w", "child_run_id": "run-c"}),
        (ev.STEP_SCHEDULED, {"call_id": 5, "step": "s"}),
        (ev.CHILD_STARTED, {"call_id": 6, "workflow": "w2", "child_run_id": "run-d"})]
    for seq, (etype, data) in enumerate(begun, start=1):
        history.record(etype, data, ts=1000.0 + seq, seq=seq)
    run = type("FakeRun", (), {"run_id": "run-x", "history": history,
                               "trace": ids.trace_carrier("run-x")})()
    ctx = TurnContext(actor_id="run-x", turn=1, seq=6)
    for etype, call_id in [(ev.HOOK_EXPIRED, 1), (ev.SIGNAL_TIMED_OUT, 2),
                           (ev.WAIT_CANCELLED, 3), (ev.CHILD_FAILED, 4),
                           (ev.STEP_COMPLETED, 5), (ev.WAIT_CANCELLED, 6)]:
        ctx.emit(etype, {"call_id": call_id}).ts = 2000.0
    tracing.WaitSpans().batch_committed(ctx, run, [], 2000.0)
    tracing.WaitSpans().batch_committed(ctx, object(), [], 2000.0)  # a schedule: nothing

    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"hook approve", "signal go", "sleep", "child w"}
    outcomes = {name: (s.attributes or {})["pyworkflow.outcome"] for name, s in spans.items()}
    assert outcomes == {"hook approve": "expired", "signal go": "timed_out",
                        "sleep": "cancelled", "child w": "failed"}
    assert spans["child w"].status.status_code.name == "ERROR"
    assert spans["hook approve"].start_time == 1_001_000_000_000
    assert spans["hook approve"].end_time == 2_000_000_000_000
    derived = ids.trace_carrier("run-x")["traceparent"].split("-")
    for span in spans.values():
        assert f"{span.context.trace_id:032x}" == derived[1]  # type: ignore[union-attr]
        assert span.parent is not None and f"{span.parent.span_id:016x}" == derived[2]
