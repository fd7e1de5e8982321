"""A Celery signature tree as plain, journal-safe data: the durable canvas's input.

Celery's signatures are dicts already (``task``, ``args``, ``kwargs``, ``options``,
``subtask_type``, ``immutable``); this reads the parts a canvas run needs into one
checked shape, so the run's journal holds JSON a reader can follow and nothing a
worker must import to decode:

    {"kind": "task", "task": "proj.tasks.add", "args": [1], "kwargs": {},
     "immutable": false, "link": [...], "link_error": [...]}
    {"kind": "chain", "tasks": [...], "link_error": [...]}
    {"kind": "group", "tasks": [...], "link_error": [...]}
    {"kind": "chord", "header": [...], "body": {...}, "link_error": [...]}

Anything else (``chunks``, ``xmap``, ``starmap``, a signature of an unknown type) is
refused here with a clear error, before a run exists.
"""

from __future__ import annotations

from typing import Any

from ..errors import PyWorkflowError

Node = dict[str, Any]

#: How deep a tree may nest, and how many nodes it may hold: a canvas is one run's
#: argument, so it obeys the door's limits with room to spare.
MAX_DEPTH = 32
MAX_NODES = 10_000


class CanvasError(PyWorkflowError, ValueError):
    """A signature tree the durable canvas cannot run, named with why."""


def from_signature(sig: Any) -> Node:
    """Read a Celery signature (task, chain, group or chord) into a checked node tree."""
    count = [0]
    return _node(sig, 0, count)


def _node(sig: Any, depth: int, count: list[int]) -> Node:
    if depth > MAX_DEPTH:
        raise CanvasError(f"the canvas nests deeper than {MAX_DEPTH} levels")
    count[0] += 1
    if count[0] > MAX_NODES:
        raise CanvasError(f"the canvas holds more than {MAX_NODES} signatures")
    if hasattr(sig, "get") and hasattr(sig, "ready") and not isinstance(sig, dict):
        raise CanvasError("got an AsyncResult: that canvas was already sent to Celery "
                          "(chord(header)(body), .delay() and .apply_async() send it); "
                          "pass the signature itself: chord(header, body), chain(...)")
    if not isinstance(sig, dict) or "task" not in sig:
        raise CanvasError(f"expected a Celery signature (task.s(...), chain, group, chord), "
                          f"got {type(sig).__name__}")
    kind = sig.get("subtask_type")
    options = dict(sig.get("options") or {})
    errbacks = [_node(e, depth + 1, count) for e in _listed(options.get("link_error"))]
    if any(e["kind"] != "task" for e in errbacks):
        raise CanvasError("an errback (link_error) must be a task signature, not a "
                          "chain, group or chord")
    if kind is None and str(sig["task"]).startswith("celery."):  # chunks, map, starmap
        kind = str(sig["task"]).removeprefix("celery.")
    if kind is None:
        return {"kind": "task", "task": str(sig["task"]), "args": list(sig.get("args") or ()),
                "kwargs": dict(sig.get("kwargs") or {}),
                "immutable": bool(sig.get("immutable")),
                "link": [_node(c, depth + 1, count) for c in _listed(options.get("link"))],
                "link_error": errbacks}
    if kind in ("chain", "group"):
        tasks = sig.get("kwargs", {}).get("tasks") or ()
        if not tasks:
            raise CanvasError(f"an empty {kind} has nothing to run")
        return {"kind": kind, "tasks": [_node(t, depth + 1, count) for t in tasks],
                "link_error": errbacks}
    if kind == "chord":
        kwargs = sig.get("kwargs", {})
        header, body = kwargs.get("header"), kwargs.get("body")
        header_tasks = (header.get("kwargs", {}).get("tasks") if isinstance(header, dict)
                        and header.get("subtask_type") == "group" else header) or ()
        if body is None:
            raise CanvasError("a chord without a body: give chord(header)(body) or "
                              "chord(header, body)")
        return {"kind": "chord",
                "header": [_node(t, depth + 1, count) for t in header_tasks],
                "body": _node(body, depth + 1, count), "link_error": errbacks}
    raise CanvasError(f"the durable canvas runs chain, group and chord; not {kind!r} "
                      "(write it as a group of task signatures)")


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def task_names(node: Node) -> set[str]:
    """Every task the tree names (errbacks and links included)."""
    names = {node["task"]} if node["kind"] == "task" else set()
    for child in _children(node):
        names |= task_names(child)
    return names


def _children(node: Node) -> list[Node]:
    kids = list(node.get("tasks", [])) + list(node.get("header", []))
    kids += [node["body"]] if "body" in node else []
    return kids + list(node.get("link", [])) + list(node.get("link_error", []))


def describe(node: Node) -> str:
    """The tree in Celery's own notation, for ``runs status`` and the dashboard:
    ``chord([add(1, 1), add(2, 2)], tsum())``."""
    kind = node["kind"]
    if kind == "task":
        parts = [repr(a) for a in node["args"]] + [f"{k}={v!r}"
                                                   for k, v in node["kwargs"].items()]
        text = f"{node['task']}({', '.join(parts)})"
        return text if len(text) <= 80 else text[:77] + "...)"
    if kind == "chord":
        header = ", ".join(describe(t) for t in node["header"])
        return f"chord([{header}], {describe(node['body'])})"
    inner = (" | " if kind == "chain" else ", ").join(describe(t) for t in node["tasks"])
    return f"({inner})" if kind == "chain" else f"group([{inner}])"
