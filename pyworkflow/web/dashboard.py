"""The dashboard: the runs list at ``/``, a run's page at ``/runs/<id>``, their JSON
under ``/api/``, and ``/metrics``.

The pages are a small HTML shell (:mod:`.pages`) and one hand-written script
(``static/dashboard.js``) that draws them from the JSON API and polls it every two
seconds while the tab is visible: a poll is one small page of the runs index, and
polling needs no connection held open per viewer, nor anything from a proxy in
front. Every route here answers only a signed-in request when an auth token is set
(:mod:`.guard`); the JSON handlers are plain functions, which Starlette runs on its
thread pool, because the client calls they make are blocking Redis calls.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .. import limits
from ..errors import RunNotFoundError
from ..metrics import CONTENT_TYPE, render_metrics
from ..metrics.run_tally import current_tally
from ..run_info import TERMINAL_STATUSES
from .actions import read_limited
from .guard import AUTH_COOKIE
from .pages import login_page, shell
from .replies import Reply, json_reply
from .run_detail import run_detail
from .run_pages import list_page

__all__ = ["dashboard_routes", "refused", "status_param"]

STATUSES = ("pending", "running", "suspended", "parked", *sorted(TERMINAL_STATUSES))
MAX_PAGE = 500
#: The most a sign-in form's body may hold (``token=...``), read as it arrives: a
#: longer one is a 413, and is not read further.
MAX_LOGIN_BODY = 4096
_NO_STORE = {"Cache-Control": "no-store"}


def refused(request: Request) -> Response | None:
    """The answer to a request that is not signed in (JSON for the API and /metrics, the
    login page otherwise); None when it may go on. Every dashboard route asks it."""
    if request.app.state.guard.signed_in(request):
        return None
    if request.url.path.rstrip("/").endswith(("/api", "/metrics")) or "/api/" in request.url.path:
        return JSONResponse({"error": "sign in: Authorization: Bearer <token>"}, 401,
                            headers=_NO_STORE)
    return HTMLResponse(login_page(request, failed=False), 401, headers=_NO_STORE)


def _json(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status, headers=_NO_STORE)


def runs_page(request: Request) -> Response:
    # Plain functions, run on the thread pool: the first page with actions on reads the
    # CSRF secret from Redis (once per app, :mod:`.csrf`).
    return refused(request) or HTMLResponse(shell(request, "runs"), headers=_NO_STORE)


def run_page(request: Request) -> Response:
    return refused(request) or HTMLResponse(shell(request, "run"), headers=_NO_STORE)


def _text_param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name, "").strip()
    return value[:200] or None


def _limit(request: Request) -> int:
    text = request.query_params.get("limit", "50").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise Reply(400, {"error": f"limit must be an integer from 1 to {MAX_PAGE}"})
    return min(MAX_PAGE, max(1, int(text)))


def status_param(request: Request, allowed: tuple[str, ...]) -> str | None:
    """The ``status`` filter, one of ``allowed``; anything else is a 400 naming them."""
    status = _text_param(request, "status")
    if status is not None and status not in allowed:
        raise Reply(400, {"error": "unknown status", "statuses": list(allowed)})
    return status


def api_runs(request: Request) -> Response:
    denied = refused(request)
    if denied:
        return denied
    try:
        page = list_page(_limit(request), _text_param(request, "cursor"),
                         status_param(request, STATUSES), _text_param(request, "workflow"),
                         _text_param(request, "q"))
    except Reply as reply:
        return json_reply(reply)
    except ValueError as exc:  # the cursor
        return _json({"error": str(exc)}, 400)
    return _json({"runs": page.runs, "next_cursor": page.next_cursor, "scanned": page.scanned})


def api_counts(request: Request) -> Response:
    denied = refused(request)
    if denied:
        return denied
    tally = current_tally()
    return _json({"by_status": tally.by_status(), "workflows": tally.workflows(),
                  "indexed": tally.indexed, "counted": tally.counted,
                  "statuses": list(STATUSES)})


def api_run(request: Request) -> Response:
    denied = refused(request)
    if denied:
        return denied
    try:
        run_id = request.path_params["run_id"]
        if not limits.is_id_form(run_id):  # not a run id: not found, Redis not asked
            raise RunNotFoundError(run_id[:limits.MAX_ID_CHARS])
        detail = run_detail(run_id, full_tokens=request.app.state.guard.actions)
    except RunNotFoundError:
        return _json({"error": "no run with this id"}, 404)
    detail["actions"] = request.app.state.guard.actions
    return _json(detail)


def metrics(request: Request) -> Response:
    denied = refused(request)
    if denied:
        return denied
    return Response(render_metrics(), media_type=CONTENT_TYPE, headers=_NO_STORE)


async def login(request: Request) -> Response:
    """The sign-in form, and its POST: a right token sets the cookie; wrong ones are
    counted per client address and capped (:mod:`.login_limit`)."""
    guard = request.app.state.guard
    if request.method == "GET":
        return HTMLResponse(login_page(request, failed=False), headers=_NO_STORE)
    client = request.client.host if request.client else "?"
    wait = guard.login_limit.retry_after(client)
    if wait:
        return HTMLResponse(login_page(request, failed=True, wait_s=wait), 429,
                            headers={**_NO_STORE, "Retry-After": str(wait)})
    try:  # a small urlencoded form; no python-multipart needed
        raw = await read_limited(request, MAX_LOGIN_BODY)
    except Reply:  # not a sign-in form: not counted as a wrong token, nothing more read
        return HTMLResponse(login_page(request, failed=True), 413, headers=_NO_STORE)
    tokens = parse_qs(raw.decode("utf-8", "replace")).get("token", [])
    token = tokens[0] if tokens else None
    if token is None or guard.auth_token is None or not guard.token_ok(token):
        guard.login_limit.failed(client)
        return HTMLResponse(login_page(request, failed=True), 401, headers=_NO_STORE)
    home = request.scope.get("root_path", "") + "/"
    reply = RedirectResponse(home, 303)
    reply.set_cookie(AUTH_COOKIE, token, httponly=True, samesite="strict",
                     secure=request.url.scheme == "https", path=home)
    return reply


def dashboard_routes() -> list[Route]:
    return [Route("/", runs_page), Route("/runs/{run_id}", run_page),
            Route("/api/runs", api_runs), Route("/api/counts", api_counts),
            Route("/api/runs/{run_id}", api_run), Route("/metrics", metrics),
            Route("/login", login, methods=["GET", "POST"])]
