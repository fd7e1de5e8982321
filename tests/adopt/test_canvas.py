"""The durable canvas's semantics, run in-process (``WorkflowEnvironment``: the same
engine and step machinery as a worker): results pass as Celery passes them, errbacks
of both styles are called once, a header failure calls the body's errbacks, and a tree
the canvas cannot run is refused before a run exists."""

from __future__ import annotations

from typing import Any

import pytest
from celery import chain, chord, group

from pyworkflow.canvas import CanvasError
from pyworkflow.canvas.tree import describe, from_signature
from pyworkflow.canvas.walk import CANVAS_WORKFLOW
from pyworkflow.testing import WorkflowEnvironment
from tests.adopt import canvas_tasks as t


def run(sig: Any) -> Any:
    tree = from_signature(sig)
    with WorkflowEnvironment() as env:
        handle = env.start(CANVAS_WORKFLOW, describe(tree), tree)
        return env.wait(handle.run_id)


@pytest.mark.parametrize(("sig", "result"), [
    (t.add.s(1, 2), 3),
    (t.add.s(1, 2) | t.add.s(10) | t.add.s(100), 113),           # each result prepended
    (chain(t.add.s(1, 1), t.add.si(5, 5)), 10),                   # .si(): immutable
    (group(t.add.s(i, i) for i in range(4)), [0, 2, 4, 6]),       # in order
    (chord([t.add.s(i, 1) for i in range(5)], t.total.s(100)), 115),  # body gets the list
    (group(t.add.s(1, 1), t.add.s(2, 2)) | t.total.s(), 6),       # Celery makes it a chord
    (t.add.s(1, 1) | group(t.add.s(10), t.add.s(20)), [12, 22]),  # parent to each member
])
def test_results_pass_as_celery_passes_them(sig: Any, result: Any) -> None:
    info = run(sig)
    assert (info.status, info.result) == ("completed", result)


def test_a_failed_task_calls_its_errbacks_of_both_styles_once() -> None:
    t.ERRBACK_CALLS.clear()
    failing = t.broken.s().set(link_error=[t.old_errback.s(), t.new_errback.s()])
    info = run(t.add.s(1, 1) | failing)
    assert info.status == "failed"
    assert info.error is not None and info.error["type"] == "StepFailedError"
    (old, new) = t.ERRBACK_CALLS
    assert old[0] == "old" and old[1].endswith("/0.1")  # the failed task's id: run/node
    assert new == ("new", old[1], "cv.broken", "RecordedError", "ValueError: broken on purpose")


def test_a_header_failure_calls_the_body_errbacks_and_never_the_body() -> None:
    t.ERRBACK_CALLS.clear()
    body = t.total.s().set(link_error=[t.new_errback.s()])
    info = run(chord([t.add.s(1, 1), t.broken.s()], body))
    assert info.status == "failed"
    assert [c[0] for c in t.ERRBACK_CALLS] == ["new"]
    assert t.ERRBACK_CALLS[0][2] == "cv.broken"


@pytest.mark.parametrize(("sig", "says"), [
    (t.add.chunks([(1, 2)], 1), "not 'chunks'"),
    (group([]), "an empty group"),
    (t.add.s(1).set(link_error=[t.add.s(1) | t.add.s(2)]), "errback (link_error) must be"),
    ("cv.add", "expected a Celery signature"),
])
def test_a_tree_the_canvas_cannot_run_is_refused(sig: Any, says: str) -> None:
    with pytest.raises(CanvasError, match=None) as caught:
        from_signature(sig)
    assert says in str(caught.value)


def test_describe_reads_as_celery_notation() -> None:
    tree = from_signature(chord([t.add.s(1, 1), t.add.s(2, 2)], t.total.s()))
    assert describe(tree) == "chord([cv.add(1, 1), cv.add(2, 2)], cv.total())"
