"""The durable canvas: one built-in workflow that walks a signature tree.

Each task node is a step (its Celery task, ``step.from_task``), so every header
task of a chord is journaled, leased and retried on its own, and the body is
scheduled once, by the one turn that records the header's last result: a worker
killed mid-header, a Redis restart, a redelivered message change when things happen,
never what. Results pass as Celery passes them:

* a task gets its parent's result prepended to its own arguments (unless the
  signature is immutable, ``.si()``); the first node gets none;
* a chain hands each result to the next and returns the last;
* a group runs its members at once (each with the parent's result) and returns
  their results in order; a chord's body gets that list;
* ``link`` callbacks get the task's result; their own results are dropped.

On a failure (after the task's retries) the errbacks (``link_error``) of the failed
task and of every chain, group or chord around it are called, then the run fails
with the task's error. An errback whose function takes one argument gets the
failed task's id (Celery's old style); one that takes more gets
``(request, exc, traceback)`` (new style), where ``exc`` is a
:class:`~pyworkflow.errors.RecordedError` naming the original class (no class named
in a journal is ever imported). A chord's header failure calls its body's errbacks,
as Celery's ``ChordError`` does.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from celery.app.task import Context

from ..adopt.celery_apps import find_task
from ..adopt.task_call import TASK_ID_KWARG
from ..adopt.task_step import task_step
from ..engine import in_workflow
from ..errors import CancellationError, RecordedError
from ..workflow_api.decorators import step, workflow
from .tree import Node

#: The built-in workflow's name, and its errback adapter step's.
CANVAS_WORKFLOW = "pyworkflow.canvas"
ERRBACK_STEP = "pyworkflow.canvas.errback"

_NOTHING: Any = object()


def canvas_task_id(run_id: str, path: str) -> str:
    """The Celery task id a canvas node's task sees as ``self.request.id`` (and its
    errbacks as the failed task's id): the run and the node's place in the tree,
    ``"0.2.1"``. Built here only."""
    return f"{run_id}/{path}"


@workflow(name=CANVAS_WORKFLOW)
async def run_canvas(shape: str, tree: Node) -> Any:
    """Run a Celery signature tree (``pyworkflow.canvas.start`` makes ``tree``, and
    ``shape``, its Celery notation: first, so ``runs status`` and the dashboard show
    the tree readably before its data)."""
    run = in_workflow()
    run_id = run.run_id if run is not None else "transient"
    try:
        return await _walk(run_id, tree, "0", _NOTHING)
    except _Failed as failed:
        raise failed.error from None


class _Failed(Exception):
    """A task's failure on its way up the tree: each node it passes calls its own
    errbacks with it; the top re-raises the task's own error."""

    def __init__(self, error: Exception, path: str, node: Node) -> None:
        super().__init__(str(error))
        self.error, self.path, self.node = error, path, node


async def _walk(run_id: str, node: Node, path: str, parent: Any) -> Any:
    try:
        return await _run(run_id, node, path, parent)
    except CancellationError:
        raise
    except Exception as exc:
        failed = exc if isinstance(exc, _Failed) else _Failed(exc, path, node)
        await _errbacks(run_id, node.get("link_error", []), failed)
        raise failed from None


async def _run(run_id: str, node: Node, path: str, parent: Any) -> Any:
    kind = node["kind"]
    if kind == "task":
        return await _task(run_id, node, path, parent)
    if kind == "chain":
        value = parent
        for i, child in enumerate(node["tasks"]):
            value = await _walk(run_id, child, f"{path}.{i}", value)
        return value
    if kind == "group":
        return await _group(run_id, node["tasks"], path, parent)
    header = await _chord_header(run_id, node, path, parent)
    return await _walk(run_id, node["body"], f"{path}.b", header)


async def _group(run_id: str, tasks: list[Node], path: str, parent: Any) -> list[Any]:
    return list(await asyncio.gather(*(_walk(run_id, t, f"{path}.{i}", parent)
                                       for i, t in enumerate(tasks))))


async def _chord_header(run_id: str, node: Node, path: str, parent: Any) -> list[Any]:
    try:
        return await _group(run_id, node["header"], f"{path}.h", parent)
    except _Failed as failed:  # Celery: the body's errbacks get the ChordError
        await _errbacks(run_id, node["body"].get("link_error", []), failed)
        raise


async def _task(run_id: str, node: Node, path: str, parent: Any) -> Any:
    args = list(node["args"])
    if parent is not _NOTHING and not node["immutable"]:
        args = [parent, *args]
    kwargs = {**node["kwargs"], TASK_ID_KWARG: canvas_task_id(run_id, path)}
    result = await task_step(node["task"])(*args, **kwargs)
    for i, link in enumerate(node.get("link", [])):
        await _walk(run_id, link, f"{path}.l{i}", result)
    return result


async def _errbacks(run_id: str, errbacks: list[Node], failed: _Failed) -> None:
    """Call each errback once for this failure; an errback's own failure is in the
    journal (its step failed) and does not hide the task's."""
    exc, node = failed.error, failed.node
    info = {"task_id": canvas_task_id(run_id, failed.path),
            "task": node.get("task", node["kind"]),
            "args": node.get("args", []), "kwargs": node.get("kwargs", {}),
            "error_type": getattr(exc, "error_type", None) or type(exc).__name__,
            "error": getattr(exc, "error_message", None) or str(exc),
            "traceback": getattr(exc, "traceback", None)}
    for errback in errbacks:
        try:
            if errback["kind"] == "task" and not _new_style(errback["task"]):
                await task_step(errback["task"])(info["task_id"], *errback["args"],
                                                 **errback["kwargs"])
            else:
                await _errback_step(errback, info)
        except CancellationError:
            raise
        except Exception:  # noqa: S112  (recorded in the journal as the step's failure)
            continue


def _new_style(name: str) -> bool:
    """Celery calls an errback ``(request, exc, traceback)`` when its function takes
    more than one argument (besides a bound task's ``self``), else ``(task_id)``."""
    task = find_task(name)
    if task is None:
        return False
    fn = getattr(task, "_orig_run", None) or task.run
    params = [p for p in inspect.signature(fn).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    return len(params) > 1 or any(p.kind == p.VAR_POSITIONAL for p in params)


@step(name=ERRBACK_STEP, max_retries=3)
def call_errback(errback: Node, failed: dict[str, Any]) -> None:
    """A new-style errback, called as Celery's worker calls it: with a request for the
    failed task, its error and its traceback text."""
    task = find_task(errback["task"])
    if task is None:
        raise LookupError(f"errback task {errback['task']!r} is not in this process")
    fn = getattr(task, "_orig_run", None) or task.run
    request = Context(id=failed["task_id"], task=failed["task"], args=failed["args"],
                      kwargs=failed["kwargs"])
    fn(request, RecordedError(failed["error_type"], failed["error"]), failed["traceback"],
       *errback["args"], **errback["kwargs"])


#: The errback step as workflow code awaits it (a sync step returns a future there).
_errback_step: Any = call_errback
