"""The dashboard's queues: the page at ``/queues`` and its JSON (``/api/queues``).

The same shell as the other pages (``static/dashboard.js`` draws it, polling
``GET /api/queues``): per queue, the turns and steps waiting (and per broker priority
level on Redis), the live workers reading it with the workflows and steps they
advertise, and the work waiting for a worker that has its code; then flow control's
slots held per limit key and the rate limits that deferred starts. Read only: the same
reads as ``pyworkflow queues list`` (:mod:`pyworkflow.worker.queue_report`) and
``queues show``'s limits section (:mod:`pyworkflow.flow.status`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..flow.status import limits_view
from ..worker._runtime import runtime
from ..worker.queue_report import QueueReport, levels, queue_reports, waiting_for_workers
from .dashboard import refused
from .pages import shell
from .replies import Reply, json_reply

__all__ = ["queue_routes", "queue_view"]

_NO_STORE = {"Cache-Control": "no-store"}


def queue_view(rt: Any, report: QueueReport) -> dict[str, Any]:
    """What the page shows of one queue (JSON-ready)."""
    return {"queue": report.name, "turns_waiting": report.turns_waiting,
            "steps_waiting": report.steps_waiting,
            "levels": {"turns": levels(rt, report.turns), "steps": levels(rt, report.steps)},
            "workers": [{"node": a.node, "queues": a.queues, "workflows": a.workflows,
                         "steps": a.steps} for a in report.workers]}


def queues_page(request: Request) -> Response:
    return refused(request) or HTMLResponse(shell(request, "queues"), headers=_NO_STORE)


def api_queues(request: Request) -> Response:
    denied = refused(request)
    if denied:
        return denied
    rt = runtime()
    return json_reply(Reply(200, {
        "queues": [queue_view(rt, r) for r in queue_reports(rt)],
        "waiting_for_worker": [{"need": w.need, "count": w.count, "oldest_s": w.oldest_s,
                                "served_by": w.served_by} for w in waiting_for_workers(rt)],
        "limits": limits_view(rt.redis, rt.settings.key_prefix)}))


def queue_routes() -> list[Route]:
    return [Route("/queues", queues_page), Route("/api/queues", api_queues)]
