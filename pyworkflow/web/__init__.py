"""The web app: one ASGI application (Starlette) for everything pyworkflow serves.

``create_app()`` returns it, ready for ``pyworkflow web`` / ``pyworkflow hooks serve``
(uvicorn) or to be mounted in a user's own app (``Mount("/workflows",
app=create_app())``). It serves ``POST /hooks/<token>`` (:mod:`.hooks_endpoint`),
``GET /healthz``, the dashboard (``/``, ``/runs/<id>``, ``/api/...``,
:mod:`.dashboard`), the schedules (``/schedules``, :mod:`.schedule_pages`), the
actions on runs and schedules (:mod:`.actions`, off by default, guarded by
:mod:`.guard`) and ``GET /metrics`` (:mod:`pyworkflow.metrics`). The hook endpoint's
and the API's answers, errors included, are JSON.

Every answer carries the browser security headers (:mod:`.security_headers`); every
route but the hook endpoint and ``/healthz`` answers only known ``Host`` names
(:mod:`.hosts`). ``pyworkflow.web:app`` is built on first use, from the
environment, so importing this package reads no setting and fails on none.

``GET /healthz`` is liveness only (``{"ok": true}``): it does not touch Redis, so a
Redis hiccup does not get every replica killed by its orchestrator at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from .actions import action_routes
from .dashboard import dashboard_routes
from .guard import Guard
from .hooks_endpoint import DEFAULT_MAX_BODY, Deliveries, hook_routes
from .hosts import HostCheck
from .queue_pages import queue_routes
from .replies import Reply, http_error, internal_error, json_reply
from .request_log import RequestLog
from .schedule_pages import schedule_routes
from .security_headers import SecurityHeaders

__all__ = ["DEFAULT_MAX_BODY", "app", "create_app"]

ROUTES_SHOWN = ["POST /hooks/<token>", "GET /healthz", "GET /", "GET /runs/<run_id>",
                "GET /schedules", "GET /queues", "GET /metrics"]
STATIC = Path(__file__).with_name("static")


async def healthz(request: Request) -> Response:
    if request.method not in ("GET", "HEAD"):
        return json_reply(Reply(405, {"error": f"method {request.method} not allowed here",
                                      "allow": ["GET", "HEAD"]}, {"Allow": "GET, HEAD"}))
    return json_reply(Reply(200, {"ok": True}))


def create_app(*, max_body: int = DEFAULT_MAX_BODY, dashboard: bool = True,
               actions: bool | None = None, auth_token: str | None = None,
               allowed_hosts: Iterable[str] | None = None) -> Starlette:
    """A new app. ``max_body`` may lower the body limit, never raise it past the limit
    the worker decodes (:data:`pyworkflow.serialization.MAX_BYTES`).

    ``dashboard=False`` serves only the hook endpoint and ``/healthz``. ``actions``
    (default: ``PYWORKFLOW_WEB_ACTIONS``, else off) lets the dashboard cancel, retry,
    signal and resume hooks; ``auth_token`` (default: ``PYWORKFLOW_WEB_AUTH_TOKEN``)
    makes every dashboard page, API call and ``/metrics`` require it (see
    :mod:`.guard`); a blank one is a ``ValueError``. ``allowed_hosts`` (default:
    ``PYWORKFLOW_WEB_ALLOWED_HOSTS``, comma-separated) are the ``Host`` names served
    besides loopback ones (see :mod:`.hosts`)."""
    if not 0 <= max_body <= DEFAULT_MAX_BODY:
        raise ValueError(f"max_body must be between 0 and {DEFAULT_MAX_BODY} bytes, "
                         f"not {max_body}")
    guard = Guard.from_settings(actions, auth_token, allowed_hosts)
    deliveries = Deliveries()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            deliveries.close()

    health = Route("/healthz", healthz, methods=["GET", "HEAD", "POST", "PUT", "DELETE"])
    routes: list[BaseRoute] = [*hook_routes(), health]
    if dashboard:
        routes += [*dashboard_routes(), *action_routes(), *schedule_routes(), *queue_routes(),
                   Mount("/static", app=StaticFiles(directory=STATIC), name="static")]
    web = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders), Middleware(RequestLog),
                    Middleware(HostCheck, hosts=guard.hosts)],
        exception_handlers={404: http_error, 405: http_error, 500: internal_error},
        lifespan=lifespan,
    )
    web.router.redirect_slashes = False  # "/healthz/" is another path: 404, not a redirect
    web.state.max_body = max_body
    web.state.deliveries = deliveries
    web.state.routes_shown = ROUTES_SHOWN if dashboard else ROUTES_SHOWN[:2]
    web.state.guard = guard
    return web


_default: list[Starlette] = []


def __getattr__(name: str) -> Starlette:
    """``pyworkflow.web.app``: one app from the environment's settings, for ``uvicorn
    pyworkflow.web:app``, built when first asked for."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if not _default:
        _default.append(create_app())
    return _default[0]
