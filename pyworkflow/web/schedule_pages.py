"""The dashboard's schedules: the list at ``/schedules``, its JSON, and its actions.

The page is the same shell as the runs' (``static/dashboard.js`` draws it, polling
``GET /api/schedules`` every two seconds). Pause, resume and trigger are POSTs to
``/api/schedules/<id>/<action>``, behind the same switch, sign-in, CSRF token and
origin check as the run actions (:class:`.guard.Guard`), and each calls the function
an app would (``pause_schedule``, ``resume_schedule``, ``trigger_schedule``), which
sends one message to the schedule's actor: the answer says it was sent, and the
next poll shows what the schedule made of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..schedules.api import list_schedules, pause_schedule, resume_schedule, trigger_schedule
from ..schedules.errors import InvalidScheduleError, ScheduleNotFoundError
from ..schedules.info import ScheduleInfo
from .actions import perform
from .dashboard import refused, status_param
from .pages import shell
from .replies import Reply, json_reply

__all__ = ["schedule_routes", "schedule_view"]

_NO_STORE = {"Cache-Control": "no-store"}
SCHEDULE_STATUSES = ("active", "paused")


def schedule_view(info: ScheduleInfo) -> dict[str, Any]:
    """What the page shows of one schedule (JSON-ready)."""
    spec = info.spec
    return {"schedule_id": info.schedule_id, "status": info.status, "workflow": info.workflow,
            "describe": spec.describe(), "cron": spec.cron, "interval_s": spec.interval_s,
            "timezone": spec.timezone, "overlap": spec.overlap,
            "next_fire_at": info.next_fire_at, "last_fire_at": info.last_fire_at,
            "last_run_id": info.last_run_id, "running": info.running, "fired": info.fired,
            "skipped": info.skipped, "created_at": info.created_at,
            "updated_at": info.updated_at}


def schedules_page(request: Request) -> Response:
    return refused(request) or HTMLResponse(shell(request, "schedules"), headers=_NO_STORE)


def api_schedules(request: Request) -> Response:
    denied = refused(request)
    if denied:
        return denied
    try:
        status = status_param(request, SCHEDULE_STATUSES)
    except Reply as reply:
        return json_reply(reply)
    listed = list_schedules(status, newest_first=True)  # the newest MAX_LISTED at most
    found = sorted(listed, key=lambda i: i.created_at, reverse=True)
    return json_reply(Reply(200, {"schedules": [schedule_view(i) for i in found],
                                  "indexed": listed.indexed, "unread": listed.unread,
                                  "truncated": listed.truncated,
                                  "actions": request.app.state.guard.actions}))


def _pause(sid: str, body: dict[str, Any]) -> None:
    note = body.get("note")
    pause_schedule(sid, str(note) if note else "paused from the dashboard")


def _resume(sid: str, _: dict[str, Any]) -> None:
    resume_schedule(sid)


def _trigger(sid: str, body: dict[str, Any]) -> None:
    overlap = body.get("overlap")
    trigger_schedule(sid, str(overlap) if overlap else None)


_ACTIONS: dict[str, Callable[[str, dict[str, Any]], None]] = {
    "pause": _pause, "resume": _resume, "trigger": _trigger}


async def schedule_action(request: Request) -> Response:
    try:
        await perform(request, _ACTIONS, "schedule_id")
        return json_reply(Reply(200, {"sent": request.path_params["action"],
                                      "schedule_id": request.path_params["schedule_id"]}))
    except Reply as reply:
        return json_reply(reply)
    except ScheduleNotFoundError:
        return json_reply(Reply(404, {"error": "no schedule with this id"}))
    except InvalidScheduleError as exc:
        return json_reply(Reply(400, {"error": str(exc)}))


def schedule_routes() -> list[Route]:
    return [Route("/schedules", schedules_page), Route("/api/schedules", api_schedules),
            Route("/api/schedules/{schedule_id}/{action}", schedule_action, methods=["POST"])]
