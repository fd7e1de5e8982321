"""The dashboard's pages and JSON API, with the Starlette TestClient, against real
Redis and a real prefork worker running the runs."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

import pyworkflow
from pyworkflow.web import create_app
from tests._workers import Worker, wait_for
from tests.web.conftest import LOCAL, pending_hook


@pytest.fixture()
def client(rt: Any) -> TestClient:
    return TestClient(create_app(), base_url=LOCAL)


@pytest.fixture()
def acting(rt: Any) -> TestClient:
    return TestClient(create_app(actions=True), base_url=LOCAL)


def csrf_of(client: TestClient) -> str:
    return str(client.app.state.guard.csrf_token)  # type: ignore[attr-defined]


def detail(client: TestClient, run_id: str) -> dict[str, Any]:
    resp = client.get(f"/api/runs/{run_id}")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def test_list_shows_started_runs_newest_first(client: TestClient,
                                              workers: list[Worker]) -> None:
    first = pyworkflow.start("dash_failing")
    second = pyworkflow.start("dash_failing")
    runs = client.get("/api/runs", params={"workflow": "dash_failing"}).json()["runs"]
    ids = [r["run_id"] for r in runs]
    assert ids.index(second) < ids.index(first)
    page = client.get("/")
    assert page.status_code == 200 and 'data-page="runs"' in page.text


def test_filters_by_status_workflow_and_text(client: TestClient, workers: list[Worker]) -> None:
    failed = pyworkflow.start("dash_failing")
    waiting = pyworkflow.start("dash_order", "o-filter")
    pyworkflow.wait_for_run(failed, 30)
    pending_hook(waiting)

    def ids(**params: str) -> list[str]:
        return [r["run_id"] for r in client.get("/api/runs", params=params).json()["runs"]]

    assert failed in ids(status="failed") and waiting not in ids(status="failed")
    assert waiting in ids(workflow="dash_order") and failed not in ids(workflow="dash_order")
    assert ids(q=waiting[-8:]) == [waiting]
    counts = client.get("/api/counts").json()
    assert counts["by_status"]["failed"] >= 1 and "dash_order" in counts["workflows"]


def test_pages_follow_the_cursor_without_repeats(client: TestClient,
                                                 workers: list[Worker]) -> None:
    started = {pyworkflow.start("dash_failing") for _ in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", "workflow": "dash_failing"}
        if cursor:
            params["cursor"] = cursor
        body = client.get("/api/runs", params=params).json()
        seen += [r["run_id"] for r in body["runs"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) and started <= set(seen)


def test_failed_run_shows_its_error_with_traceback(client: TestClient,
                                                   workers: list[Worker]) -> None:
    run_id = pyworkflow.start("dash_failing")
    pyworkflow.wait_for_run(run_id, 30)
    d = detail(client, run_id)
    assert d["run"]["status"] == "failed"
    assert "declined" in d["run"]["error"]["message"]
    assert [b["state"] for b in d["timeline"]["bars"]] == ["failed"]


def test_run_page_has_timeline_events_values_children_and_hooks(
        client: TestClient, acting: TestClient, workers: list[Worker]) -> None:
    run_id = pyworkflow.start("dash_order", "o-1")
    token = pending_hook(run_id)
    d = detail(client, run_id)
    kinds = [b["kind"] for b in d["timeline"]["bars"]]
    assert kinds == ["step", "sleep", "child", "hook"]
    step = d["timeline"]["bars"][0]
    assert [s["kind"] for s in step["segments"]] == ["attempt", "retry_wait", "attempt"]
    assert d["timeline"]["bars"][-1]["state"] == "running"
    assert d["values"] == {"stage": "waiting for approval"}
    assert d["children"][0]["workflow"] == "dash_child"
    assert {e["type"] for e in d["events"]} >= {"workflow_started", "step_failed",
                                                "hook_created"}
    # The token is the hook's credential: whole only when the page can resume it.
    assert d["hooks"][0]["token"] != token and token.startswith(d["hooks"][0]["token"][:6])
    assert token not in str(d)
    assert detail(acting, run_id)["hooks"][0]["token"] == token
    page = client.get(f"/runs/{run_id}")
    assert page.status_code == 200 and 'data-page="run"' in page.text


def test_actions_are_off_by_default(client: TestClient, workers: list[Worker]) -> None:
    run_id = pyworkflow.start("dash_order", "o-off")
    token = pending_hook(run_id)
    resp = client.post(f"/api/hooks/{token}/resume", json={"payload": {"ok": True}},
                       headers={"X-CSRF-Token": csrf_of(client)})
    assert resp.status_code == 403
    assert 'name="csrf-token"' not in client.get("/").text
    assert pyworkflow.get_hook(token).status == "pending"
    pyworkflow.cancel_workflow(run_id)


def test_actions_need_the_csrf_token(acting: TestClient, workers: list[Worker]) -> None:
    run_id = pyworkflow.start("dash_order", "o-csrf")
    token = pending_hook(run_id)
    for headers in ({}, {"X-CSRF-Token": "guess"}):
        resp = acting.post(f"/api/hooks/{token}/resume", json={"payload": 1}, headers=headers)
        assert resp.status_code == 403, resp.text
    cross = acting.post(f"/api/runs/{run_id}/cancel", headers={
        "X-CSRF-Token": csrf_of(acting), "Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert pyworkflow.get_workflow_run(run_id).status != "cancelled"
    ok = acting.post(f"/api/runs/{run_id}/cancel", json={"reason": "test"},
                     headers={"X-CSRF-Token": csrf_of(acting)})
    assert ok.status_code == 200
    assert pyworkflow.wait_for_run(run_id, 30).status == "cancelled"


def test_resume_and_signal_from_the_api(acting: TestClient, workers: list[Worker]) -> None:
    run_id = pyworkflow.start("dash_order", "o-api")
    token = pending_hook(run_id)
    headers = {"X-CSRF-Token": csrf_of(acting)}
    resp = acting.post(f"/api/hooks/{token}/resume", json={"payload": {"by": "api"}},
                       headers=headers)
    assert resp.status_code == 200, resp.text
    assert pyworkflow.get_result(run_id, timeout=30)["approval"] == {"by": "api"}
    again = acting.post(f"/api/hooks/{token}/resume", json={"payload": 2}, headers=headers)
    assert again.status_code == 409
    finished = acting.post(f"/api/runs/{run_id}/signal", json={"name": "x"}, headers=headers)
    assert finished.status_code == 409


def test_auth_token_guards_pages_api_and_metrics(rt: Any) -> None:
    guarded = TestClient(create_app(auth_token="s3cret-token"), base_url=LOCAL)
    for path in ("/", "/api/runs", "/metrics", "/runs/run-x"):
        assert guarded.get(path).status_code == 401, path
    assert guarded.get("/healthz").status_code == 200
    assert guarded.get("/api/runs", headers={"Authorization": "Bearer s3cret-token"}
                       ).status_code == 200
    assert guarded.post("/login", data={"token": "wrong"}).status_code == 401
    signed = guarded.post("/login", data={"token": "s3cret-token"}, follow_redirects=False)
    assert signed.status_code == 303
    assert guarded.get("/api/runs").status_code == 200  # the cookie from the login


def test_unknown_run_is_404(client: TestClient) -> None:
    assert client.get("/api/runs/run-nope").status_code == 404


def test_mounts_under_a_prefix(rt: Any, workers: list[Worker]) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    host = TestClient(Starlette(routes=[Mount("/workflows", app=create_app())]),
                      base_url=LOCAL)
    page = host.get("/workflows/")
    assert page.status_code == 200 and '<base href="/workflows/">' in page.text
    assert host.get("/workflows/static/dashboard.js").status_code == 200
    run_id = pyworkflow.start("dash_failing")
    wait_for(lambda: run_id in host.get("/workflows/api/runs").text, 10,
             message="the run in the mounted API")


def _exists(run_id: str) -> bool:
    try:
        pyworkflow.get_workflow_run(run_id)
    except pyworkflow.RunNotFoundError:
        return False
    return True


def test_schedules_page_lists_and_pauses_resumes_triggers(client: TestClient, acting: TestClient,
                                                         workers: list[Worker]) -> None:
    sid = pyworkflow.create_schedule("dash_child", interval="1h", args=["o-sched"],
                                     schedule_id=f"dash-sched-{uuid.uuid4().hex[:8]}")
    try:
        page = client.get("/schedules")
        assert page.status_code == 200 and 'data-page="schedules"' in page.text
        listed = client.get("/api/schedules").json()
        view = next(s for s in listed["schedules"] if s["schedule_id"] == sid)
        assert view["workflow"] == "dash_child" and view["status"] == "active"
        assert view["describe"] == "every 3600s" and listed["actions"] is False

        # The same guard as the run actions: off by default, then the CSRF token.
        off = client.post(f"/api/schedules/{sid}/pause", headers={"X-CSRF-Token": csrf_of(client)})
        assert off.status_code == 403 and "actions are off" in off.json()["error"]
        assert acting.post(f"/api/schedules/{sid}/pause").status_code == 403
        headers = {"X-CSRF-Token": csrf_of(acting)}
        assert acting.post("/api/schedules/sched-nope/pause", headers=headers).status_code == 404
        assert acting.post(f"/api/schedules/{sid}/explode", headers=headers).status_code == 404

        def status() -> str:
            return str(pyworkflow.get_schedule(sid).status)

        resp = acting.post(f"/api/schedules/{sid}/pause", headers=headers)
        assert resp.status_code == 200 and resp.json() == {"sent": "pause", "schedule_id": sid}
        wait_for(lambda: status() == "paused", 30, message="the schedule paused")
        assert acting.post(f"/api/schedules/{sid}/resume", headers=headers).status_code == 200
        wait_for(lambda: status() == "active", 30, message="the schedule resumed")
        assert acting.post(f"/api/schedules/{sid}/trigger", headers=headers).status_code == 200
        run_id = wait_for(lambda: pyworkflow.get_schedule(sid).last_run_id, 30,
                          message="the triggered run")
        wait_for(lambda: _exists(run_id), 30, message="the triggered run to be started")
        assert pyworkflow.get_result(run_id, timeout=30) == "shipped o-sched"
        shown = next(s for s in client.get("/api/schedules").json()["schedules"]
                     if s["schedule_id"] == sid)
        assert shown["last_run_id"] == run_id and shown["fired"] >= 1
    finally:
        pyworkflow.delete_schedule(sid)
