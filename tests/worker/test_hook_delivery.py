"""Hook deliveries end to end: a real ``pyworkflow hooks serve`` and real workers.

What the door answers must be what the run sees: a payload the server accepts
(202) is the payload the run records, and one it cannot record is refused at the
door with a 4xx, never accepted and then lost. The server process itself must
answer a burst, stop promptly on SIGTERM however slow its clients, and say in one
line why it cannot start.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

import pyworkflow
from pyworkflow import events as ev
from pyworkflow.worker import _runtime
from tests._workers import PYWORKFLOW, REPO, Worker, wait_for, worker_pool

MODULE = "tests.hook_workflows"


class Serve:
    """A ``pyworkflow hooks serve --port 0`` process; ``url`` once it listens."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([PYWORKFLOW, "hooks", "serve", *args], cwd=REPO,
                                     env=dict(os.environ), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        banner = self.proc.stdout.readline()
        assert banner.startswith("Listening on http://"), (banner, self.stop()[1])
        self.url = banner.split()[2]
        self.host, port = self.url.removeprefix("http://").rsplit(":", 1)
        self.port = int(port)

    def stop(self, timeout: float = 30) -> tuple[str, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.communicate(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def workers(rt: Any, log_dir: Path) -> Iterator[list[Worker]]:
    with worker_pool(MODULE, log_dir, "hookdoor", pool="prefork", concurrency=2) as pool:
        yield pool


@pytest.fixture(scope="module")
def serve(rt: Any) -> Iterator[Serve]:
    server = Serve("--port", "0")
    yield server
    server.stop()


def pending_token(run_id: str) -> str:
    def find() -> str | None:
        found = pyworkflow.list_hooks(status="pending", run_id=run_id)
        return found[0].token if found else None

    return wait_for(find, 30, 0.05, f"the hook of run {run_id}")  # type: ignore[no-any-return]


def suspended(run_id: str) -> None:
    wait_for(lambda: pyworkflow.get_workflow_run(run_id).status == "suspended", 30, 0.05,
             f"run {run_id} to suspend")


def finished(run_id: str, timeout: float = 60) -> pyworkflow.RunInfo:
    return wait_for(lambda: (i := pyworkflow.get_workflow_run(run_id)).finished and i,  # type: ignore[no-any-return]
                    timeout, 0.05, f"run {run_id} to finish")


def received(run_id: str) -> list[Any]:
    return [e["data"]["payload"] for e in pyworkflow.get_workflow_events(run_id)
            if e["type"] == ev.HOOK_RECEIVED]


def post(url: str, token: str, body: bytes) -> httpx.Response:
    return httpx.post(f"{url}/hooks/{token}", content=body, timeout=30,
                      headers={"Content-Type": "application/json"})


# -- defect: a payload accepted (202) that the run could never decode ------------------------

@pytest.mark.parametrize("levels", [600, 100_000])
def test_a_payload_nested_too_deep_is_refused_at_the_door(workers: Any, serve: Serve,
                                                          levels: int) -> None:
    run_id = pyworkflow.start("hooktest_echo")
    token = pending_token(run_id)
    suspended(run_id)
    answer = post(serve.url, token, b"[" * levels + b"]" * levels)
    assert answer.status_code == 400, answer.text
    assert "nested" in answer.json()["error"]
    assert pyworkflow.get_hook(token).status == "pending"
    # The hook is still open: a payload within the limits resumes the run.
    assert post(serve.url, token, b'{"ok": [[[1]]]}').status_code == 202
    assert finished(run_id).result == {"ok": [[[1]]]}


# -- defect: racing deliveries, one 202, and the run recorded another payload ---------------

def test_racing_deliveries_record_the_payload_that_got_202(workers: Any, serve: Serve) -> None:
    for trial in range(6):
        run_id = pyworkflow.start("hooktest_echo")
        token = pending_token(run_id)
        start = threading.Barrier(20)

        def deliver(sender: int, token: str = token, start: threading.Barrier = start,
                    ) -> tuple[int, int]:
            body = json.dumps({"sender": sender, "pad": "x" * (sender * 997)}).encode()
            start.wait(30)
            return sender, post(serve.url, token, body).status_code

        with ThreadPoolExecutor(20) as senders:
            answers = list(senders.map(deliver, range(20)))
        winners = [sender for sender, status in answers if status == 202]
        assert len(winners) == 1, answers
        assert sorted(status for _, status in answers) == [202] + [409] * 19
        final = finished(run_id)
        assert final.result["sender"] == winners[0], (trial, winners, final.result["sender"])
        assert [p["sender"] for p in received(run_id)] == winners


# -- defect: a cancel, then a delivery that got 202 and was dropped --------------------------

def test_after_a_cancel_the_token_answers_410(workers: list[Worker], serve: Serve) -> None:
    """The workers are stopped while the cancel and the delivery arrive, so the run
    has not handled its cancel yet when the token is posted to (the race, made sure)."""
    run_id = pyworkflow.start("hooktest_echo")
    token = pending_token(run_id)
    suspended(run_id)
    for w in workers:
        w.stop()
    try:
        pyworkflow.cancel_workflow(run_id)
        answer = post(serve.url, token, b'{"late": true}')
        assert answer.status_code == 410 and answer.json()["status"] == "cancelled", answer.text
    finally:
        for w in workers:
            w.start(wait=False)
        for w in workers:
            w.wait_ready()
    assert finished(run_id).status == "cancelled"
    assert received(run_id) == []


def test_a_payload_accepted_before_the_cancel_is_recorded(workers: Any) -> None:
    """The delivery claimed the hook, and its message never came (its sender died):
    the cancel finds the hook received and records the stored payload."""
    run_id = pyworkflow.start("hooktest_echo_then_sleep")
    token = pending_token(run_id)
    suspended(run_id)
    assert _runtime.runtime().hooks.claim(token, uuid.uuid4().hex, '{"first": true}').moved
    pyworkflow.cancel_workflow(run_id)
    assert finished(run_id).status == "cancelled"
    assert received(run_id) == [{"first": True}]
    assert pyworkflow.get_hook(token).status == "received"


def test_a_delivery_claimed_before_the_timeout_is_recorded(workers: Any) -> None:
    run_id = pyworkflow.start("hooktest_echo", timeout="1s")
    token = pending_token(run_id)
    assert _runtime.runtime().hooks.claim(token, uuid.uuid4().hex, '{"in": "time"}').moved
    final = finished(run_id)
    assert final.status == "completed" and final.result == {"in": "time"}


# -- defect: the server process under a burst, a slow client, a taken port -------------------

def _raw_request(host: str, port: int, start: threading.Barrier) -> bytes:
    with socket.create_connection((host, port), timeout=30) as conn:
        start.wait(30)
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
        return answer


def _listen_backlog(port: int) -> int | None:
    """The listening socket's backlog as the kernel reports it (``ss``: Send-Q)."""
    try:
        listing = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True,
                                 text=True, timeout=10).stdout.split()
    except FileNotFoundError:
        return None
    return int(listing[2]) if len(listing) > 2 else None


def test_a_burst_of_50_connections_is_answered(rt: Any) -> None:
    server = Serve("--port", "0")
    try:
        backlog = _listen_backlog(server.port)
        assert backlog is None or backlog >= 50, f"listen backlog {backlog}"
        start = threading.Barrier(50)
        with ThreadPoolExecutor(50) as clients:
            answers = list(clients.map(
                lambda _: _raw_request(server.host, server.port, start), range(50)))
        assert all(b" 200 " in a[:20] for a in answers), \
            [a[:40] for a in answers if b" 200 " not in a[:20]]
    finally:
        out, err = server.stop()
    assert "Traceback" not in err, err[-2000:]


# serial: it times the shutdown (under 5 s), which other tests' load would stretch
@pytest.mark.serial
def test_sigterm_exits_promptly_while_a_client_trickles_headers(rt: Any) -> None:
    server = Serve("--port", "0")
    stop_trickling = threading.Event()
    conn = socket.create_connection((server.host, server.port), timeout=30)

    def trickle() -> None:
        try:
            conn.sendall(b"POST /hooks/abc HTTP/1.1\r\nHost: x\r\n")
            while not stop_trickling.wait(0.2):
                conn.sendall(b"X")
        except OSError:
            return  # the server closed it: what a prompt shutdown does

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        time.sleep(0.5)  # the trickle is under way (not a wait for a condition: a duration)
        started = time.monotonic()
        out, err = server.stop(timeout=30)
        took = time.monotonic() - started
    finally:
        stop_trickling.set()
        conn.close()
    assert server.proc.returncode == 0, err[-2000:]
    assert "Stopped." in out
    assert took < 5, f"SIGTERM took {took:.1f}s with a client trickling its headers"


def test_a_client_that_disconnects_leaves_no_traceback(rt: Any) -> None:
    server = Serve("--port", "0")
    try:
        for _ in range(20):
            with socket.create_connection((server.host, server.port), timeout=10) as conn:
                conn.sendall(b"POST /hooks/abcdef HTTP/1.1\r\nHost: x\r\nContent-Type: "
                             b"application/json\r\nContent-Length: 2\r\n\r\n{}")
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00"
                                b"\x00\x00\x00\x00")  # close with a reset, unread answer
        # The server still answers, and said nothing alarming about the clients.
        assert httpx.get(f"{server.url}/healthz", timeout=10).json() == {"ok": True}
    finally:
        out, err = server.stop()
    assert "Traceback" not in err and "BrokenPipeError" not in err, err[-2000:]


def test_a_taken_port_is_a_one_line_error(rt: Any) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        proc = subprocess.run([PYWORKFLOW, "hooks", "serve", "--port", str(port)], cwd=REPO,
                              env=dict(os.environ), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"], \
        proc.stderr
