"""The hook HTTP endpoint, over real HTTP: every status code it promises.

The web app runs under uvicorn in a thread, on port 0, against the session's Redis
(in this process, so a test can make the broker fail). Hooks are recorded
directly with ``record_hook`` (no workflow needed): ``resume_hook`` then sends a
message to a run that does not exist, which is harmless.
"""

from __future__ import annotations

import http.client
import json
import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from pydantic import BaseModel

from pyworkflow.client import hooks
from pyworkflow.registry import hook_models
from pyworkflow.web import DEFAULT_MAX_BODY, create_app
from pyworkflow.web.server import bind, config, url_of
from pyworkflow.workflow_api.hooks import define_hook
from tests._workers import wait_for


class Approval(BaseModel):
    approved: bool
    amount: float


define_hook("server_test_approval", Approval)


class HookServer:
    """The app under uvicorn on a thread: ``url`` and ``server_address`` to reach it."""

    def __init__(self) -> None:
        self.sock = bind("127.0.0.1", 0)
        self.url = url_of(self.sock)
        self.server_address = self.sock.getsockname()
        self.uvicorn = uvicorn.Server(config(create_app()))
        self.thread = threading.Thread(target=self.uvicorn.run,
                                       kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> HookServer:
        self.thread.start()
        wait_for(lambda: self.uvicorn.started, 10, message="uvicorn to start")
        return self

    def __exit__(self, *_: Any) -> None:
        self.uvicorn.should_exit = True
        self.thread.join(15)


@pytest.fixture(scope="module")
def server(rt: Any) -> Iterator[HookServer]:
    with HookServer() as srv:
        yield srv


def new_hook(name: str = "server_test_plain", expires_at_ms: int | None = None) -> str:
    token = hooks.new_token()
    hooks.record_hook(token, f"run-test{secrets.token_hex(6)}", 1, name, expires_at_ms)
    return token


def call(server: HookServer, method: str, path: str, body: bytes | None = None,
         content_type: str | None = "application/json") -> tuple[int, dict[str, Any], Any]:
    """One urllib request; returns (status, JSON body, headers) for errors too."""
    request = urllib.request.Request(server.url + path, data=body, method=method)
    if content_type is not None and body is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null"), resp.headers
    except urllib.error.HTTPError as err:
        with err:
            assert err.headers["Content-Type"] == "application/json"
            raw = err.read()
            return err.code, json.loads(raw) if raw else {}, err.headers


def post(server: HookServer, token: str, payload: Any, **kw: Any) -> tuple[int, dict[str, Any]]:
    status, body, _ = call(server, "POST", f"/hooks/{token}", json.dumps(payload).encode(), **kw)
    return status, body


def raw_post(server: HookServer, path: str, headers: dict[str, str],
             body: bytes = b"") -> tuple[int, dict[str, Any]]:
    """http.client, for requests urllib cannot make (no Content-Length, a forged one)."""
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(str(host), int(port), timeout=10)
    try:
        conn.putrequest("POST", path)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        if body:
            conn.send(body)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_healthz(server: HookServer) -> None:
    status, body, headers = call(server, "GET", "/healthz")
    assert (status, body) == (200, {"ok": True})
    assert "Python" not in headers["Server"]


def test_delivery_is_accepted_once(server: HookServer) -> None:
    token = new_hook()
    run_id = hooks.get_hook(token).run_id
    assert post(server, token, {"ok": 1}) == (202, {"status": "accepted", "run_id": run_id})
    assert hooks.get_hook(token).status == "received"
    status, body = post(server, token, {"ok": 2})
    assert status == 409 and body["status"] == "received" and body["error"]


def test_empty_body_delivers_null(server: HookServer) -> None:
    token = new_hook()
    status, body, _ = call(server, "POST", f"/hooks/{token}", b"")
    assert status == 202 and body["status"] == "accepted"


def test_unknown_token_is_404(server: HookServer) -> None:
    status, body = post(server, hooks.new_token(), {})
    assert status == 404 and "error" in body
    status, body = post(server, "not%20a%20token", {})  # cannot be a token at all
    assert status == 404


def test_expired_and_cancelled_hooks_are_gone(server: HookServer) -> None:
    expired = new_hook(expires_at_ms=int(time.time() * 1000) - 1000)
    status, body = post(server, expired, {})
    assert status == 410 and body["status"] == "expired"
    cancelled = new_hook()
    assert hooks.transition(cancelled, "cancelled") == (True, "cancelled")
    status, body = post(server, cancelled, {})
    assert status == 410 and body["status"] == "cancelled"


def test_broker_down_is_503_and_the_sender_can_retry(server: HookServer, rt: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from kombu.exceptions import OperationalError

    token = new_hook()
    send = rt.system.send

    def broker_down(*_: Any, **__: Any) -> None:
        raise OperationalError("broker down")

    monkeypatch.setattr(rt.system, "send", broker_down)
    status, body = post(server, token, {"ok": 1})
    assert status == 503 and body["error"]
    assert hooks.get_hook(token).status == "pending"  # the payload was not lost
    monkeypatch.setattr(rt.system, "send", send)
    assert post(server, token, {"ok": 1})[0] == 202
    assert hooks.get_hook(token).status == "received"


def test_refusals_need_no_second_read(server: HookServer,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """410's status and 422's hook name come with the SDK's error, not another lookup."""
    cancelled, typed = new_hook(), new_hook("server_test_approval")
    hooks.transition(cancelled, "cancelled")
    real, reads = hooks.get_hook, []

    def counted(token: str) -> hooks.HookInfo:
        reads.append(token)
        return real(token)

    monkeypatch.setattr(hooks, "get_hook", counted)
    assert post(server, cancelled, {}) == (410, {"error": "hook is cancelled",
                                                 "status": "cancelled"})
    status, body = post(server, typed, {"approved": "perhaps"})
    assert status == 422 and "server_test_approval" in body["error"]
    assert reads == [cancelled, typed]  # the one read resume_hook itself makes


def test_typed_hook_refuses_a_bad_payload_with_its_errors(server: HookServer) -> None:
    token = new_hook("server_test_approval")
    status, body = post(server, token, {"approved": "perhaps", "secret": "hunter2"})
    assert status == 422
    assert "server_test_approval" in body["error"]
    fields = {tuple(e["loc"]) for e in body["errors"]}
    assert fields == {("approved",), ("amount",)}
    assert "hunter2" not in json.dumps(body) and "perhaps" not in json.dumps(body)
    assert hooks.get_hook(token).status == "pending"  # nothing changed; it can be retried
    assert post(server, token, {"approved": True, "amount": 9.5})[0] == 202


def test_a_typed_hook_is_checked_by_its_stored_schema_without_the_model(
        server: HookServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that cannot import the app's module (the model is not registered here)
    still refuses, from the schema the engine stored with the hook."""
    token = hooks.new_token()
    hooks.record_hook(token, f"run-test{secrets.token_hex(6)}", 1, "server_test_approval",
                      None, model=Approval)
    monkeypatch.delitem(hook_models, "server_test_approval")
    status, body = post(server, token, {"approved": "perhaps", "secret": "hunter2"})
    assert status == 422 and "server_test_approval" in body["error"]
    assert body["errors"] == [
        {"loc": ["approved"], "msg": "Input should be a valid boolean", "type": "type"},
        {"loc": ["amount"], "msg": "Field required", "type": "missing"}]
    assert "hunter2" not in json.dumps(body) and "perhaps" not in json.dumps(body)
    assert hooks.get_hook(token).status == "pending"
    assert post(server, token, {"approved": True, "amount": 9})[0] == 202


@pytest.mark.parametrize("body", [b'{"approved": tru', b"\xff\xfe\x00garbage", b"NaN",
                                  b'{"x": Infinity}'])
def test_malformed_json_is_400(server: HookServer, body: bytes) -> None:
    token = new_hook()
    status, answer, _ = call(server, "POST", f"/hooks/{token}", body)
    assert status == 400 and "JSON" in answer["error"]
    assert hooks.get_hook(token).status == "pending"


def test_non_json_content_type_is_400(server: HookServer) -> None:
    token = new_hook()
    status, body = post(server, token, {"a": 1}, content_type="application/x-www-form-urlencoded")
    assert status == 400 and "Content-Type" in body["error"]
    assert post(server, token, {"a": 1}, content_type="application/vnd.x+json; charset=utf-8"
                )[0] == 202


def test_body_over_the_limit_is_413(server: HookServer) -> None:
    token = new_hook()
    big = b'"' + b"x" * DEFAULT_MAX_BODY + b'"'
    status, body, _ = call(server, "POST", f"/hooks/{token}", big)
    assert status == 413 and body["limit"] == DEFAULT_MAX_BODY
    assert hooks.get_hook(token).status == "pending"


def test_content_length_is_checked_before_reading(server: HookServer) -> None:
    # Declares a terabyte, sends nothing: the answer must come without waiting for it.
    started = time.monotonic()
    status, body = raw_post(server, f"/hooks/{new_hook()}",
                            {"Content-Type": "application/json", "Content-Length": "10" * 6})
    assert status == 413 and time.monotonic() - started < 5


def test_missing_content_length_is_411(server: HookServer) -> None:
    status, body = raw_post(server, f"/hooks/{new_hook()}", {"Content-Type": "application/json"})
    assert status == 411 and body["error"]
    status, _ = raw_post(server, f"/hooks/{new_hook()}", {"Transfer-Encoding": "chunked"},
                         b"2\r\n{}\r\n0\r\n\r\n")
    assert status == 411


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("GET", "/hooks/{token}", "POST"), ("PUT", "/hooks/{token}", "POST"),
    ("DELETE", "/hooks/{token}", "POST"), ("POST", "/healthz", "GET, HEAD"),
])
def test_other_methods_are_405(server: HookServer, method: str, path: str, allow: str) -> None:
    token = new_hook()
    data = b"{}" if method in ("POST", "PUT") else None
    status, body, headers = call(server, method, path.format(token=token), data)
    assert status == 405 and headers["Allow"] == allow and body["error"]
    assert hooks.get_hook(token).status == "pending"


# "/" is the dashboard now (tests/web/); these stay 404s.
@pytest.mark.parametrize("path", ["/hooks", "/hooks/", "/hooks/a/b", "/healthz/x"])
def test_other_paths_are_404(server: HookServer, path: str) -> None:
    for method, data in (("GET", None), ("POST", b"{}")):
        status, body, _ = call(server, method, path, data)
        assert status == 404 and body["error"], (method, path)


def test_logs_hold_neither_the_token_nor_the_payload(server: HookServer,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    token = new_hook("server_test_approval")
    post(server, token, {"approved": "no", "note": "payload-secret-123"})
    post(server, token, {"approved": True, "amount": 1, "note": "payload-secret-456"})
    post(server, token, {})
    text = caplog.text
    assert token[:6] in text
    assert token not in text and token[:12] not in text
    assert "payload-secret" not in text
