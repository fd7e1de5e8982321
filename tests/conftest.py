"""Test set-up: a real Redis and a private key prefix per test session.

Redis: the one named by ``PYWORKFLOW_REDIS_URL``, else the local one on 6379 when it
answers, else the embedded server (started in a temporary data folder and stopped
at the end). Every key the session writes starts with its own prefix and is
deleted afterwards, so tests never see each other's runs or tasks.
"""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyworkflow.config import load_settings, redis_client
from pyworkflow.worker import _runtime
from pyworkflow.worker._embedded_redis import resolve_redis, stop_embedded


def _local_redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.3) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class _Quiet:
    def info(self, event: str, **kw: object) -> None:
        print(f"[tests] {event} {kw}")


@pytest.fixture(scope="session", autouse=True)
def redis_env() -> Iterator[dict[str, str]]:
    embedded_dir: str | None = None
    url = os.environ.get("PYWORKFLOW_REDIS_URL")
    if not url and not _local_redis_answers():
        embedded_dir = tempfile.mkdtemp(prefix="pwtest-redis-")
        settings = resolve_redis(load_settings().__class__(data_dir=embedded_dir), _Quiet(),
                                 probe_default=False)
        url = settings.redis_url
    url = url or "redis://127.0.0.1:6379/0"
    prefix = f"pwtest-{uuid.uuid4().hex[:8]}"
    env = {"PYWORKFLOW_REDIS_URL": url, "PYWORKFLOW_KEY_PREFIX": prefix,
           "PYWORKFLOW_LOG_FORMAT": "json"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    _runtime._runtime = None
    yield env
    client = redis_client(url)
    # Kombu's binding tables for our exchanges: ``_kombu.binding.<exchange>`` and, for
    # queues without an expiry, ``_kombu.binding_permanent.<exchange>`` (which keeps
    # Kombu's sweep off the table). The shared ``_kombu.binding_deadlines`` is not ours.
    for pattern in (f"{prefix}*", f"_kombu.binding.{prefix}*",
                    f"_kombu.binding_permanent.{prefix}*"):
        batch = list(client.scan_iter(match=pattern, count=1000))
        for i in range(0, len(batch), 500):
            client.delete(*batch[i:i + 500])
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    if embedded_dir:
        stop_embedded(embedded_dir)


@pytest.fixture(scope="session")
def rt(redis_env: dict[str, str]) -> _runtime.Runtime:
    import tests.toy_actors  # noqa: F401  (routes the toy behaviours)

    return _runtime.runtime()


@pytest.fixture
def captured_tasks(rt: _runtime.Runtime) -> Iterator[list[tuple[str, list[Any], dict[str, Any]]]]:
    """The Celery tasks the runtime sends, as (name, args, kwargs), captured instead of
    published: a test runs them itself (``rt.celery.tasks[name].run``)."""
    captured: list[tuple[str, list[Any], dict[str, Any]]] = []
    previous = rt.system._enqueue
    rt.system.set_enqueue(lambda name, args, kwargs, task_id, queue:
                          captured.append((name, args, kwargs)))
    yield captured
    if previous is not None:
        rt.system.set_enqueue(previous)


@pytest.fixture
def round_trips(rt: _runtime.Runtime, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many pipelines (one round trip each) the runtime's scripts send from here on:
    ``round_trips[0]``."""
    count = [0]
    scripts = type(rt.system.scripts)
    real = scripts.pipeline

    def pipeline(self: Any, build: Any) -> Any:
        count[0] += 1
        return real(self, build)

    monkeypatch.setattr(scripts, "pipeline", pipeline)
    return count


@pytest.fixture(scope="session")
def log_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="pwtest-logs-"))
