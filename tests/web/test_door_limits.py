"""Issue 24 at the dashboard's doors, with the Starlette TestClient against real Redis:
an id past the bound is answered as an unknown one (404 JSON) without asking Redis,
and an action's body is read no further than its bound (docs/operations/limits.md)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from pyworkflow.limits import MAX_ID_CHARS
from pyworkflow.web import create_app
from tests.web.conftest import LOCAL

#: A real record under each (as if forged into Redis): the dashboard must not find it.
FORGED = ["run-" + "a" * (MAX_ID_CHARS - 3), "run-esc\x1b[2J"]


@pytest.fixture()
def acting(rt: Any) -> TestClient:
    return TestClient(create_app(actions=True), base_url=LOCAL)


def _headers(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": str(client.app.state.guard.csrf_token)}  # type: ignore[attr-defined]


def _forge_run(rt: Any, run_id: str) -> None:
    import tests.client_workflows  # noqa: F401
    from pyworkflow._start_plan import plan_start

    plan = plan_start("client_quick", (1,), {})
    rt.redis.hset(rt.actor_keys(run_id).record,
                  mapping={**plan.record, "run_id": run_id, "status": "failed"})


def _path(run_id: str) -> str:
    return run_id.replace("\x1b", "%1B")


@pytest.mark.parametrize("run_id", FORGED)
def test_the_run_api_answers_an_id_past_the_bound_as_an_unknown_run(
        rt: Any, acting: TestClient, run_id: str) -> None:
    _forge_run(rt, run_id)
    unknown = acting.get("/api/runs/run-nope")
    assert unknown.status_code == 404
    resp = acting.get(f"/api/runs/{_path(run_id)}")
    assert (resp.status_code, resp.json()) == (404, unknown.json())
    for action in ("cancel", "retry", "signal"):
        resp = acting.post(f"/api/runs/{_path(run_id)}/{action}", json={"name": "go"},
                           headers=_headers(acting))
        assert (resp.status_code, resp.json()) == (404, {"error": "no run with this id"})
    assert rt.redis.hget(rt.actor_keys(run_id).record, "status") == b"failed"


def test_an_action_on_an_id_past_the_bound_is_refused_before_its_body_is_read(
        rt: Any, acting: TestClient) -> None:
    """The 404 comes before the body: a body over the action's bound is not read (it
    would be a 413 otherwise)."""
    body = b'{"payload": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    resp = acting.post(f"/api/runs/{FORGED[0]}/cancel", content=body,
                       headers={**_headers(acting), "Content-Type": "application/json"})
    assert (resp.status_code, resp.json()) == (404, {"error": "no run with this id"})
    token = "t" * (MAX_ID_CHARS + 1)
    resp = acting.post(f"/api/hooks/{token}/resume", content=body,
                       headers={**_headers(acting), "Content-Type": "application/json"})
    assert (resp.status_code, resp.json()) == (404, {"error": "no hook with this token"})


def test_a_hook_token_past_the_bound_is_not_found(rt: Any, acting: TestClient) -> None:
    from pyworkflow.client import hooks

    token = "t" * (MAX_ID_CHARS + 1)
    hooks.record_hook(token, "run-web-door-limits", 3, "web_door_limits", None)
    resp = acting.post(f"/api/hooks/{token}/resume", json={"payload": 1},
                       headers=_headers(acting))
    assert (resp.status_code, resp.json()) == (404, {"error": "no hook with this token"})
    assert rt.hooks.read(token).status == "pending"


def test_a_schedule_action_on_a_bad_id_is_answered_not_crashed(rt: Any,
                                                              acting: TestClient) -> None:
    """Schedule actions share the run actions' door (``perform``): a schedule id is
    not held to the run id's form there, and an unknown one is still a 404 JSON."""
    resp = acting.post("/api/schedules/" + "s" * (MAX_ID_CHARS + 1) + "/pause",
                       headers=_headers(acting))
    assert resp.status_code in (400, 404) and "error" in resp.json()
    resp = acting.post("/api/schedules/sched-door-limits-none/pause", headers=_headers(acting))
    assert (resp.status_code, resp.json()) == (404, {"error": "no schedule with this id"})


def test_the_schedules_api_reads_the_newest_max_listed_and_says_how_many_more(
        rt: Any, acting: TestClient) -> None:
    import tests.client_workflows  # noqa: F401
    from pyworkflow import keys
    from pyworkflow.schedules import api

    index = keys.schedules_index(rt.settings.key_prefix)
    fake = {f"sched-web-door-limits-{i}": float(i + 1) for i in range(api.MAX_LISTED + 5)}
    rt.redis.zadd(index, fake)
    sid = api.create_schedule("client_quick", interval="1h", args=[1])
    try:
        indexed = int(rt.redis.zcard(index))
        body = acting.get("/api/schedules").json()
        assert body["truncated"] is True and body["indexed"] == indexed
        assert body["unread"] == indexed - api.MAX_LISTED >= 6
        assert sid in [s["schedule_id"] for s in body["schedules"]]  # the newest are read
    finally:
        rt.redis.zrem(index, *fake, sid)
        rt.redis.delete(rt.actor_keys(sid).record)


# -- an action's body ---------------------------------------------------------------------

CHUNK = 64 * 1024


async def _post_streaming(app: Any, path: str, headers: list[tuple[bytes, bytes]],
                          chunks: int) -> tuple[int, bytes, int]:
    """POST ``chunks`` chunks of 64 KB to the app as a server would hand them over,
    one ``receive()`` each: the status, the answer's body and how many chunks the app
    asked for (the Starlette TestClient reads a streamed body whole before the app
    sees it, so it cannot tell)."""
    asked = 0
    answer: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if asked >= chunks:
            return {"type": "http.disconnect"}
        asked += 1
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": asked < chunks}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "server": ("localhost", 80),
             "client": ("127.0.0.1", 50000),
             "headers": [(b"host", b"localhost"), (b"content-type", b"application/json"),
                         *headers]}
    await app(scope, receive, send)
    return answer["status"], answer["body"], asked


@pytest.mark.parametrize("path", ["/api/runs/run-door-limits-body/signal",
                                  "/api/hooks/door-limits-body-token/resume"])
def test_an_action_body_is_read_no_further_than_its_bound(rt: Any, path: str) -> None:
    import asyncio
    import json

    from pyworkflow.web.actions import MAX_BODY

    app = create_app(actions=True)
    csrf = (b"x-csrf-token", str(app.state.guard.csrf_token).encode())
    total = 64 * 1024 * 1024 // CHUNK  # a 64 MB body
    # chunked (no length declared): refused once past the bound, the rest never read
    status, body, asked = asyncio.run(_post_streaming(app, path, [csrf], total))
    assert status == 413 and json.loads(body) == {"error": "body too large", "limit": MAX_BODY}
    assert asked == MAX_BODY // CHUNK + 1
    # a declared length over the bound: refused before a byte is read
    declared = (b"content-length", str(total * CHUNK).encode())
    status, body, asked = asyncio.run(_post_streaming(app, path, [csrf, declared], total))
    assert status == 413 and asked == 0
    # within the bound it is read whole, as before (then refused as not JSON)
    status, _, asked = asyncio.run(_post_streaming(app, path, [csrf], 2))
    assert status == 400 and asked == 2


def test_a_sign_in_body_is_read_no_further_than_its_bound(rt: Any) -> None:
    """``POST /login`` is answered before any sign-in: its form is read as it arrives
    and refused past ``MAX_LOGIN_BODY`` (it was read whole, then cut to 4 KB)."""
    import asyncio

    from pyworkflow.web.dashboard import MAX_LOGIN_BODY

    app = create_app(auth_token="door-limits-token")
    form = [(b"content-type", b"application/x-www-form-urlencoded")]
    status, _, asked = asyncio.run(_post_streaming(app, "/login", form, 1024))
    assert status == 413 and asked == MAX_LOGIN_BODY // CHUNK + 1
    for _ in range(12):  # more than the failures that lock an address out
        assert asyncio.run(_post_streaming(app, "/login", form, 1024))[0] == 413
    # an oversized form is not a wrong token: the address may still sign in
    assert app.state.guard.login_limit.retry_after("127.0.0.1") == 0
