"""The dashboard's defences (issue 24): known Host names only, security headers, the
buttons a run's state allows, one CSRF token per deployment, blank tokens refused,
sign-in attempts capped, and bad query parameters answered 400 in JSON."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient

import pyworkflow
from pyworkflow import keys
from pyworkflow.web import STATIC, create_app
from pyworkflow.web.login_limit import MAX_FAILURES
from pyworkflow.web.security_headers import HEADERS
from tests._workers import Worker
from tests.web.conftest import LOCAL, pending_hook

EVIL = "http://attacker.example"


def csrf_in_page(client: TestClient) -> str:
    page = client.get("/")
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert found, page.text
    return found.group(1)


# -- 1. DNS rebinding: the Host header ------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/runs/run-x", "/api/runs", "/api/counts", "/metrics",
                                  "/schedules", "/api/schedules", "/static/dashboard.js",
                                  "/login", "/nope"])
def test_an_unknown_host_is_refused_with_json(rt: Any, path: str) -> None:
    client = TestClient(create_app(), base_url=EVIL)
    resp = client.get(path)
    assert resp.status_code == 400, resp.text
    assert "Host" in resp.json()["error"] and resp.json()["host"] == "attacker.example"


def test_hooks_and_healthz_answer_any_host(rt: Any) -> None:
    client = TestClient(create_app(), base_url=EVIL)
    assert client.get("/healthz").json() == {"ok": True}
    resp = client.post("/hooks/hook-not-a-real-token", json={"x": 1})
    assert resp.status_code != 400 or "Host" not in resp.text, resp.text


@pytest.mark.parametrize("host", ["localhost", "localhost:8080", "127.0.0.1", "127.0.0.1:1",
                                  "127.9.8.7:8080", "[::1]", "[::1]:8080", "LOCALHOST"])
def test_loopback_names_are_served(rt: Any, host: str) -> None:
    client = TestClient(create_app(), base_url=LOCAL)
    assert client.get("/", headers={"Host": host}).status_code == 200, host


@pytest.mark.parametrize("host", ["localhost.attacker.example", "127.0.0.1.nip.io",
                                  "2130706433", "", "[::2]:80", "a b", "x@localhost"])
def test_look_alike_hosts_are_refused(rt: Any, host: str) -> None:
    client = TestClient(create_app(), base_url=LOCAL)
    assert client.get("/", headers={"Host": host}).status_code == 400, host


def test_configured_hosts_are_served(rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    given = TestClient(create_app(allowed_hosts=["Dash.Example.com"]), base_url=LOCAL)
    assert given.get("/", headers={"Host": "dash.example.com:8443"}).status_code == 200
    assert given.get("/", headers={"Host": "other.example.com"}).status_code == 400
    monkeypatch.setenv("PYWORKFLOW_WEB_ALLOWED_HOSTS", " a.example , b.example:80 ,")
    from_env = TestClient(create_app(), base_url=LOCAL)
    for host in ("a.example", "b.example"):
        assert from_env.get("/", headers={"Host": host}).status_code == 200, host
    with pytest.raises(ValueError, match="not a host name"):
        create_app(allowed_hosts=["http://x.example/path"])


def test_origin_is_compared_with_the_allowed_hosts_not_the_host(rt: Any) -> None:
    app = create_app(actions=True, allowed_hosts=["dash.example.com"])
    client = TestClient(app, base_url=LOCAL)
    token = csrf_in_page(client)

    def cancel(origin: str, host: str = "127.0.0.1:8080") -> int:
        return client.post("/api/runs/run-nope/cancel", json={},
                           headers={"X-CSRF-Token": token, "Origin": origin,
                                    "Host": host}).status_code

    # Behind a proxy that sends Host: 127.0.0.1, the browser's origin is the public name.
    assert cancel("https://dash.example.com") == 404  # past the guard: no such run
    assert cancel("http://localhost:8080") == 404
    assert cancel(EVIL) == 403
    assert cancel("null") == 403
    # A rebinding page: its Host and its Origin agree, and both are the attacker's.
    assert cancel(EVIL, host="attacker.example") == 400


# -- 2. security headers ---------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/api/runs", "/static/dashboard.js", "/healthz",
                                  "/login", "/nope", "/api/runs?limit=x"])
def test_every_answer_carries_the_security_headers(rt: Any, path: str) -> None:
    resp = TestClient(create_app(), base_url=LOCAL).get(path)
    for name, value in HEADERS.items():
        assert resp.headers.get(name) == value, (path, name)
    csp = resp.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    refused = TestClient(create_app(), base_url=EVIL).get(path)
    assert refused.headers.get("x-frame-options") == "DENY"


def test_a_bug_is_a_json_500_with_the_headers(rt: Any) -> None:
    app = create_app()

    def boom(request: Any) -> Any:
        raise RuntimeError("a bug")

    app.add_route("/boom", boom)
    resp = TestClient(app, base_url=LOCAL, raise_server_exceptions=False).get("/boom")
    assert resp.status_code == 500 and resp.json() == {"error": "internal error"}
    assert resp.headers["x-frame-options"] == "DENY"


# -- 3. the buttons a run's state allows ----------------------------------------------

def test_detail_says_which_actions_apply_and_retry_refuses_otherwise(
        rt: Any, workers: list[Worker]) -> None:
    client = TestClient(create_app(actions=True), base_url=LOCAL)
    failed = pyworkflow.start("dash_failing")
    waiting = pyworkflow.start("dash_order", "o-can")
    pyworkflow.wait_for_run(failed, 30)
    pending_hook(waiting)
    assert client.get(f"/api/runs/{failed}").json()["can"] == {"cancel": False, "retry": True}
    assert client.get(f"/api/runs/{waiting}").json()["can"] == {"cancel": True, "retry": False}
    token = csrf_in_page(client)
    resp = client.post(f"/api/runs/{waiting}/retry", headers={"X-CSRF-Token": token})
    assert resp.status_code == 409 and "nothing to retry" in resp.json()["error"]
    pyworkflow.cancel_workflow(waiting)


def test_the_script_confirms_cancel_and_retry() -> None:
    script = (STATIC / "dashboard.js").read_text()
    for action in ("cancel", "retry"):
        call = script.index(f"/{action}`)")
        assert "confirm(" in script[call - 200:call], action


# -- 5. one CSRF token per deployment ---------------------------------------------------

def test_two_apps_of_one_deployment_share_the_csrf_token(rt: Any) -> None:
    first = TestClient(create_app(actions=True), base_url=LOCAL)
    second = TestClient(create_app(actions=True), base_url=LOCAL)
    token = csrf_in_page(first)
    resp = second.post("/api/runs/run-nope/cancel", json={}, headers={"X-CSRF-Token": token})
    assert resp.status_code == 404, resp.text  # the guard let it through: no such run
    assert rt.redis.get(keys.web_csrf_secret(rt.settings.key_prefix)).decode() == token


def test_with_an_auth_token_the_csrf_token_derives_from_it(rt: Any) -> None:
    bearer = {"Authorization": "Bearer tok-one-long-enough"}
    one = TestClient(create_app(actions=True, auth_token="tok-one-long-enough"),
                     base_url=LOCAL, headers=bearer)
    two = TestClient(create_app(actions=True, auth_token="tok-one-long-enough"),
                     base_url=LOCAL, headers=bearer)
    other = create_app(actions=True, auth_token="tok-two-long-enough")
    token = csrf_in_page(one)
    assert token == csrf_in_page(two) != other.state.guard.csrf_token
    assert "tok-one" not in token
    resp = two.post("/api/runs/run-nope/cancel", json={}, headers={"X-CSRF-Token": token})
    assert resp.status_code == 404, resp.text


# -- 6. blank tokens, sign-in attempts, bad parameters ---------------------------------

@pytest.mark.parametrize("token", ["", "   ", "\n"])
def test_a_blank_auth_token_is_refused(rt: Any, monkeypatch: pytest.MonkeyPatch,
                                       token: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        create_app(auth_token=token)
    monkeypatch.setenv("PYWORKFLOW_WEB_AUTH_TOKEN", token)
    with pytest.raises(ValueError, match="PYWORKFLOW_WEB_AUTH_TOKEN is empty"):
        create_app()


def test_sign_in_attempts_are_capped_per_address(rt: Any) -> None:
    client = TestClient(create_app(auth_token="the-right-token"), base_url=LOCAL)
    for _ in range(MAX_FAILURES):
        assert client.post("/login", data={"token": "wrong"}).status_code == 401
    capped = client.post("/login", data={"token": "the-right-token"}, follow_redirects=False)
    assert capped.status_code == 429 and 1 <= int(capped.headers["retry-after"]) <= 60
    assert "Too many wrong tokens" in capped.text
    # Another address is not held back by this one's failures.
    elsewhere = TestClient(create_app(auth_token="the-right-token"), base_url=LOCAL,
                           client=("192.0.2.7", 5000))
    assert elsewhere.post("/login", data={"token": "the-right-token"},
                          follow_redirects=False).status_code == 303


@pytest.mark.parametrize("query", [
    "cursor=garbage", "cursor=nan:1", "cursor=inf:0", "cursor=-inf:0", "cursor=1:-1",
    "cursor=1:99999999999999999999", "cursor=1e999:0", "cursor=:", "cursor=1:abc",
    "cursor=1:%C2%B2", "limit=x", "limit=-1", "limit=1e3", "limit=99999999999999999999",
    "limit=%D9%A3", "status=nope", "status=%00"])
def test_bad_runs_parameters_are_400_json(rt: Any, query: str) -> None:
    resp = TestClient(create_app(), base_url=LOCAL).get(f"/api/runs?{query}")
    assert resp.status_code == 400, (query, resp.text)
    assert resp.json()["error"]


def test_other_endpoints_with_garbage_parameters(rt: Any) -> None:
    client = TestClient(create_app(), base_url=LOCAL)
    bad = client.get("/api/schedules?status=nope")
    assert bad.status_code == 400 and bad.json()["statuses"] == ["active", "paused"]
    assert client.get("/api/counts?cursor=x&limit=y").status_code == 200
    for run_id in ("x" * 5000, "%00", "..%2F..%2Fetc", "run-%FF"):
        resp = client.get(f"/api/runs/{run_id}")
        assert resp.status_code == 404 and resp.json()["error"], run_id
    assert client.get("/api/runs?limit=2&cursor=").status_code == 200
