"""Behind Redis Sentinel, a run survives its master's death: the replica is promoted and
the run completes with every step recorded once.

The deployment is the test's own, on free local ports: a master, one replica and three
sentinels (quorum 2, a master is down after 1 s without answering). Journal and broker
both name it ``redis+sentinel://``, so the worker reads mailboxes straight from Redis
(same master). The master is SIGKILLed while a run is between steps; the worker's
clients and its Celery consumer find the promoted replica through the sentinels.

Replication is asynchronous: a write the master acknowledged in its last
milliseconds may not have reached the replica. The replica then holds a consistent
*prefix* of the master's writes (one replication stream carries journal, mailbox and
queues alike), so a lost tail looks like a crash a little earlier: a step task or
message taken but not acknowledged is delivered again, and the journal's sequence
check turns away a turn built on the lost state. What that can cost (and what
README says) is at-least-once steps, never a result recorded twice.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

import pyworkflow
from actors import redis_transport
from actors.sentinel import kombu_form, parse
from actors.transport_guard import GuardedConnection
from pyworkflow.client import aio
from pyworkflow.config import ConfigError, celery_broker_url, load_settings, redact_url
from pyworkflow.worker import _runtime
from pyworkflow.worker._embedded_redis import find_server_binary
from pyworkflow.worker.celery_app import make_celery
from tests._redis_server import free_port
from tests._runtime_swap import runtime_on
from tests._workers import Worker, wait_for
from tests.cli.test_examples_cli import wait_done

EXAMPLE = "examples.celery.durable.06_fault_tolerance"
MASTER = "m"
STEPS = ["fetch_data", "validate_data", "transform_data", "load_data", "notify"]


def _ping(port: int) -> bool:
    try:
        return bool(redis.Redis(port=port, socket_timeout=0.5, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@dataclass
class SentinelDeployment:
    """A master, a replica and three sentinels, each a ``redis-server`` process."""

    binary: str
    dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pwtest-sentinel-")))
    master_port: int = field(default_factory=free_port)
    replica_port: int = field(default_factory=free_port)
    sentinel_ports: list[int] = field(default_factory=lambda: [free_port() for _ in range(3)])
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{MASTER}/0"

    def _spawn(self, name: str, *args: str) -> None:
        log = open(self.dir / f"{name}.log", "ab")  # noqa: SIM115
        self.procs[name] = subprocess.Popen([self.binary, *args], stdout=log,
                                            stderr=subprocess.STDOUT, cwd=self.dir)

    def _server(self, name: str, port: int, *extra: str) -> None:
        data = self.dir / name
        data.mkdir()
        self._spawn(name, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
                    "--save", "", "--appendonly", "no", "--protected-mode", "no", *extra)

    def start(self) -> SentinelDeployment:
        self._server("master", self.master_port)
        wait_for(lambda: _ping(self.master_port), 10, 0.05, "the master")
        self._server("replica", self.replica_port, "--replicaof", "127.0.0.1",
                     str(self.master_port))
        for i, port in enumerate(self.sentinel_ports):
            conf = self.dir / f"sentinel{i}.conf"  # a sentinel rewrites its own file
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {self.dir}\n"
                f"sentinel monitor {MASTER} 127.0.0.1 {self.master_port} 2\n"
                f"sentinel down-after-milliseconds {MASTER} 1000\n"
                f"sentinel failover-timeout {MASTER} 5000\n"
                f"sentinel parallel-syncs {MASTER} 1\n")
            self._spawn(f"sentinel{i}", str(conf), "--sentinel")
        wait_for(self._ready, 30, 0.1, "the sentinels to know the replica and each other")
        return self

    def _ready(self) -> bool:
        link = redis.Redis(port=self.replica_port).info("replication")
        if link.get("master_link_status") != "up":
            return False
        for port in self.sentinel_ports:
            try:
                state: Any = redis.Redis(port=port, decode_responses=True).sentinel_master(MASTER)
            except redis.RedisError:
                return False
            if state["num-slaves"] < 1 or state["num-other-sentinels"] < 2:
                return False
        return True

    def master_address(self) -> tuple[str, int]:
        """Where the sentinels say the master is now (any sentinel that answers)."""
        for port in self.sentinel_ports:
            try:
                address: Any = redis.Redis(port=port, decode_responses=True) \
                    .sentinel_get_master_addr_by_name(MASTER)
                return str(address[0]), int(address[1])
            except redis.RedisError:
                continue
        raise AssertionError("no sentinel answers")

    def kill_master(self) -> None:
        self.procs["master"].send_signal(signal.SIGKILL)
        self.procs["master"].wait(10)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


@pytest.fixture
def deployment(redis_env: dict[str, str]) -> Iterator[SentinelDeployment]:
    """The deployment, with this process's runtime (and the workers it starts) on it."""
    binary = find_server_binary()
    if binary is None:
        pytest.skip("no redis-server/valkey-server binary to run sentinels with")
    deployment = SentinelDeployment(binary).start()
    env = {"PYWORKFLOW_REDIS_URL": deployment.url, "PYWORKFLOW_BROKER_URL": deployment.url,
           "PYWORKFLOW_KEY_PREFIX": f"pwtest-sentinel-{uuid.uuid4().hex[:6]}"}
    try:
        with runtime_on(env):
            yield deployment
    finally:
        deployment.stop()


def _blocked_readers(deployment: SentinelDeployment) -> int:
    clients = redis.Redis(port=deployment.master_port).client_list()
    return sum(1 for c in clients if c.get("name", "").startswith("pyworkflow")
               and c["cmd"] == "xread")


def _completed_steps(run_id: str) -> list[str]:
    return [e["data"]["step"] for e in pyworkflow.get_workflow_events(run_id)
            if e["type"] == "step_completed"]


def test_a_run_completes_when_sentinels_promote_the_replica_mid_run(
        deployment: SentinelDeployment, log_dir: Path) -> None:
    import examples.celery.durable  # noqa: F401

    rt = _runtime.runtime()
    assert rt.system.mailbox_in_redis  # journal and broker: the same master
    worker = Worker(EXAMPLE, log_dir, f"sentinel-{uuid.uuid4().hex[:4]}", pool="prefork",
                    concurrency=2).start()
    try:
        runs = [pyworkflow.start("data_pipeline", f"s-{i}", step_seconds=0.3, pause="0.5s")
                for i in range(3)]
        wait_for(lambda: all(_completed_steps(r) for r in runs), 30, 0.05,
                 "every run's first step")
        # Apps on redis-py and redis.asyncio, blocked reading journals when the master dies:
        # their reads are retried on the promoted replica (not on the dead address).
        with ThreadPoolExecutor(2) as pool:
            waiting = [pool.submit(asyncio.run, aio.wait_for_run(runs[0], timeout=90)),
                       pool.submit(pyworkflow.wait_for_run, runs[1], timeout=90)]
            wait_for(lambda: _blocked_readers(deployment) == 2, 10, 0.05, "the waits")
            killed_at = time.monotonic()
            deployment.kill_master()
            wait_for(lambda: deployment.master_address()[1] == deployment.replica_port, 30,
                     0.1, "the sentinels to promote the replica")
            promoted_after = time.monotonic() - killed_at
            for run_id in runs:
                final = wait_done(run_id, 90)
                assert final["status"] == "completed", final
            recovered_after = time.monotonic() - killed_at
            assert [w.result(10).status for w in waiting] == ["completed", "completed"]
        for run_id in runs:
            steps = Counter(_completed_steps(run_id))
            assert steps == Counter(STEPS), (run_id, steps)
            seqs = [e["seq"] for e in pyworkflow.get_workflow_events(run_id)]
            assert seqs == list(range(1, len(seqs) + 1))
        assert worker.alive(), worker.log_text()[-3000:]
        assert "Unrecoverable error" not in worker.log_text()
        print(f"[sentinel] replica promoted {promoted_after:.1f}s after the kill; "
              f"runs completed {recovered_after:.1f}s after it")
    finally:
        worker.kill()


# -- the URL, without servers ------------------------------------------------------------

def test_a_sentinel_url_names_sentinels_master_db_and_credentials() -> None:
    target = parse("redis+sentinel://app:p%2Fw@h1:26380,h2,[::1]:5/orders/3"
                   "?sentinel_password=s3ntinel")
    assert target.sentinels == (("h1", 26380), ("h2", 26379), ("::1", 5))
    assert (target.master, target.db, target.username, target.password) == \
        ("orders", 3, "app", "p/w")
    assert target.sentinel_kwargs({"socket_timeout": 1.0, "retry": None}) == \
        {"socket_timeout": 1.0, "password": "s3ntinel"}


@pytest.mark.parametrize("url, complaint", [
    ("redis+sentinel://h1:26379", "master name"),
    ("redis+sentinel://h1:x/m", "port"),
    ("redis+sentinel://h1/m/zero", "database"),
    ("redis+sentinel://h1/m?master_name=n", "unknown option"),
])
def test_a_malformed_sentinel_url_is_refused_naming_its_source(url: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint) as err:
        load_settings(env={"PYWORKFLOW_REDIS_URL": url})
    assert "PYWORKFLOW_REDIS_URL" in str(err.value)


def test_kombu_gets_the_sentinels_as_alternates_and_the_master_in_its_options() -> None:
    url, options = kombu_form("redis+sentinel://:pw@h1,h2:26380/orders/2")
    assert url == "sentinel://:pw@h1:26379/2;sentinel://:pw@h2:26380/2"
    assert options == {"master_name": "orders"}
    settings = load_settings(env={"PYWORKFLOW_REDIS_URL": "redis+sentinel://h1/orders"})
    assert settings.broker_url == "redis+sentinel://h1/orders"  # the broker follows Redis
    conf = make_celery(settings).conf
    assert conf.broker_url == "sentinel://h1:26379/0"
    assert conf.broker_transport_options["master_name"] == "orders"


@pytest.mark.parametrize("broker, journal, same", [
    ("redis+sentinel://127.0.0.1:1,b:2/m", "redis+sentinel://b:2,localhost:1/m/0", True),
    ("redis+sentinel://a:1,b:2/m", "redis+sentinel://a:1,b:2/m/1", False),
    ("redis+sentinel://a:1,b:2/m", "redis+sentinel://a:1,b:2/other", False),
    ("redis+sentinel://a:1,b:2/m", "redis+sentinel://a:1/m", False),
    ("redis+sentinel://a:1/m", "redis://a:1/0", False),  # the master moves; a URL does not
])
def test_the_mailbox_fast_path_needs_the_same_master(broker: str, journal: str,
                                                     same: bool) -> None:
    assert _runtime._same_server(celery_broker_url(broker), journal) is same


def test_a_sentinel_url_is_shown_without_its_passwords() -> None:
    url = "redis+sentinel://app:hunter22@h1,h2/m/0?sentinel_password=s3ntinel"
    shown = redact_url(url)
    assert "hunter22" not in shown and "s3ntinel" not in shown and "h1,h2/m/0" in shown
    assert "hunter22" not in redact_url(kombu_form(url)[0])


def test_failing_over_between_sentinels_keeps_the_transport_that_survives_a_lost_connection(
        ) -> None:
    url, options = kombu_form("redis+sentinel://h1,h2/orders")
    conn = GuardedConnection(url, transport=redis_transport.transport_path(url),
                             transport_options=options)
    conn.maybe_switch_next()  # what Kombu does when it cannot connect
    assert conn.hostname == "h2"
    assert issubclass(conn.get_transport_cls(), redis_transport.SentinelTransport)
