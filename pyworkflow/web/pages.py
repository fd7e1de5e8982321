"""The dashboard's HTML: one small shell per page; the script draws the rest.

Every link is relative to a ``<base href>`` at the app's own root (Starlette's
``root_path``), so the same pages work at ``/`` and mounted under a user's prefix.
The CSRF token is written into the page only when actions are on.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request

__all__ = ["login_page", "shell"]


def _root(request: Request) -> str:
    return escape(request.scope.get("root_path", "") + "/", quote=True)


def _head(request: Request, title: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<base href="{_root(request)}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)} · pyworkflow</title>'
            f'<link rel="stylesheet" href="static/dashboard.css">')


def shell(request: Request, kind: str) -> str:
    guard = request.app.state.guard
    csrf = (f'<meta name="csrf-token" content="{escape(guard.csrf_token, quote=True)}">'
            if guard.actions else "")
    run_id = escape(request.path_params.get("run_id", ""), quote=True)
    title = {"runs": "Runs", "schedules": "Schedules", "queues": "Queues"}.get(
        kind, f"Run {request.path_params.get('run_id', '')}")
    return (f'{_head(request, title)}{csrf}</head>'
            f'<body data-page="{kind}" data-run-id="{run_id}" '
            f'data-actions="{"on" if guard.actions else "off"}">'
            f'<header><a href="./" class="brand">pyworkflow</a>'
            f'<nav><a href="./" id="nav-runs">Runs</a> '
            f'<a href="schedules" id="nav-schedules">Schedules</a> '
            f'<a href="queues" id="nav-queues">Queues</a></nav>'
            f'<span id="live" class="live">live</span></header>'
            f'<main id="main"><p class="muted">Loading…</p></main>'
            f'<script src="static/dashboard.js" defer></script></body></html>')


def login_page(request: Request, failed: bool, wait_s: int = 0) -> str:
    note = '<p class="error">That token is not right.</p>' if failed else ""
    if wait_s:
        note = (f'<p class="error">Too many wrong tokens from this address; try again in '
                f'{wait_s} s.</p>')
    return (f'{_head(request, "Sign in")}</head><body><main><h1>Sign in</h1>{note}'
            f'<form method="post" action="login"><label>Dashboard token '
            f'<input type="password" name="token" autocomplete="current-password" '
            f'autofocus></label> <button type="submit">Sign in</button></form>'
            f'</main></body></html>')
