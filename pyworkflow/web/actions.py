"""The dashboard's actions: cancel, retry, signal a run, resume a hook with a payload.

Each is a ``POST`` under ``/api/``, checked by :class:`.guard.Guard` (off unless
turned on, signed in, CSRF token, same origin) before anything is read, and each
calls the same client function an app would (``cancel_workflow``, ``retry_run``,
``send_signal``, ``resume_hook``), so the page can do nothing the SDK could not.
Bodies are JSON read through :func:`pyworkflow.serialization.parse_json` (the limits
every payload meets). Answers are JSON: ``200`` with the outcome, or ``4xx`` with
``{"error": ...}`` naming the refusal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import limits, serialization
from ..client import cancel_workflow, retry_run, send_signal
from ..client.hooks import HookPayloadError, payload_errors, resume_hook
from ..client.run_queries import retry_message
from ..errors import (
    HookAlreadyReceivedError,
    HookExpiredError,
    HookNotFoundError,
    RunFinishedError,
    RunNotFoundError,
)
from .replies import Reply, json_reply

__all__ = ["action_routes"]

#: The most an action's body may hold (a hook payload or a signal's).
MAX_BODY = serialization.MAX_BYTES


async def read_limited(request: Request, limit: int) -> bytes:
    """The request's body, read as it arrives and never past ``limit`` bytes: a
    ``Content-Length`` over it is refused before a byte is read, and a body (chunked,
    or longer than declared) that grows past it as soon as it does; both are a 413
    ``Reply``, and the rest of the body is not read (the server closes the
    connection rather than reading it)."""
    too_large = Reply(413, {"error": "body too large", "limit": limit})
    declared = request.headers.get("content-length", "").strip()
    if declared.isascii() and declared.isdigit() and (len(declared) > 18
                                                      or int(declared) > limit):
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def read_body(request: Request) -> dict[str, Any]:
    raw = await read_limited(request, MAX_BODY)
    if not raw.strip():
        return {}
    try:
        value = serialization.parse_json(raw, "body")
    except serialization.PayloadError as exc:
        raise Reply(400, {"error": str(exc)}) from None
    if not isinstance(value, dict):
        raise Reply(400, {"error": "the body must be a JSON object"})
    return value


def _cancel(run_id: str, body: dict[str, Any]) -> dict[str, Any]:
    reason = body.get("reason")
    info = cancel_workflow(run_id, str(reason) if reason else "cancelled from the dashboard")
    return {"status": info.status}


def _retry(run_id: str, _: dict[str, Any]) -> dict[str, Any]:
    before = retry_run(run_id)  # the state it found: nothing was done if it had no retry
    if retry_message(before) is None:
        raise Reply(409, {"error": f"a {before.status} run has nothing to retry",
                          "status": before.status})
    return {"status": before.status}


def _signal(run_id: str, body: dict[str, Any]) -> dict[str, Any]:
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise Reply(400, {"error": "a signal needs a non-empty name"})
    return {"signal_id": send_signal(run_id, name, body.get("payload"))}


def _resume(token: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        info = resume_hook(token, body.get("payload"))
    except HookNotFoundError:
        raise Reply(404, {"error": _NOT_FOUND["token"]}) from None
    except HookAlreadyReceivedError:
        raise Reply(409, {"error": "hook already received a payload"}) from None
    except HookExpiredError as exc:
        raise Reply(410, {"error": str(exc)}) from None
    except HookPayloadError as exc:
        raise Reply(422, {"error": f"payload does not fit hook {exc.name!r}",
                          "errors": payload_errors(exc)}) from None
    return {"status": "accepted", "run_id": info.run_id}


_ACTIONS = {"cancel": _cancel, "retry": _retry, "signal": _signal}
#: What an action on an id that names nothing answers (also one that cannot be an id,
#: ``limits.is_id_form``: refused before the body is read or Redis asked). A schedule
#: action's id is checked by the schedule API (``schedules.spec.check_schedule_id``).
_NOT_FOUND = {"run_id": "no run with this id", "token": "no hook with this token"}


async def perform(request: Request, actions: Mapping[str, Callable[[str, dict[str, Any]], Any]],
                  target: str) -> Any:
    """What every dashboard action does first: the guard (switch, sign-in, CSRF, origin),
    the action named in the path (404 if none), its JSON body, then the action itself
    on ``request.path_params[target]``, off the event loop (the guard too: its first
    call reads the CSRF secret from Redis)."""
    await run_in_threadpool(request.app.state.guard.check_action, request)
    action = actions.get(request.path_params["action"])
    if action is None:
        raise Reply(404, {"error": "no such action"})
    if target in _NOT_FOUND and not limits.is_id_form(request.path_params[target]):
        raise Reply(404, {"error": _NOT_FOUND[target]})  # before the body, and Redis
    body = await read_body(request)
    return await run_in_threadpool(action, request.path_params[target], body)


async def run_action(request: Request) -> Response:
    try:
        done = await perform(request, _ACTIONS, "run_id")
        return json_reply(Reply(200, done))
    except Reply as reply:
        return json_reply(reply)
    except RunNotFoundError:
        return json_reply(Reply(404, {"error": _NOT_FOUND["run_id"]}))
    except (RunFinishedError, TypeError, serialization.PayloadError) as exc:
        return json_reply(Reply(409 if isinstance(exc, RunFinishedError) else 400,
                                {"error": str(exc)}))


async def hook_action(request: Request) -> Response:
    try:
        await run_in_threadpool(request.app.state.guard.check_action, request)
        if not limits.is_id_form(request.path_params["token"]):
            raise Reply(404, {"error": _NOT_FOUND["token"]})
        body = await read_body(request)
        done = await run_in_threadpool(_resume, request.path_params["token"], body)
        return json_reply(Reply(200, done))
    except Reply as reply:
        return json_reply(reply)
    except serialization.PayloadError as exc:
        return json_reply(Reply(400, {"error": str(exc)}))


def action_routes() -> list[Route]:
    return [Route("/api/runs/{run_id}/{action}", run_action, methods=["POST"]),
            Route("/api/hooks/{token}/resume", hook_action, methods=["POST"])]
