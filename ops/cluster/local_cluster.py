"""A real Redis Cluster on this machine: three masters on local ports, for trying the
cluster mode, its tests, the chaos run (``--cluster``) and the benchmark.

    python ops/cluster/local_cluster.py start [--dir D] [--base-port P]   # prints its URL
    python ops/cluster/local_cluster.py stop  [--dir D]

Each master is ``redis-server --cluster-enabled yes`` with an append-only file
(``appendfsync always``), so a master killed and started again comes back with its
slots and its data, as a managed cluster's node would after a restart. The slots are
spread by ``redis-cli --cluster create`` (no replicas: a master that is down takes its
slots down with it until it is back).
"""

from __future__ import annotations

import argparse
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MASTERS = 3


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    """A free port whose cluster bus port (+10000) is free too: below 55536."""
    while True:
        port = random.randrange(20000, 45000)
        if _bindable(port) and _bindable(port + 10000):
            return port


def _reply(port: int, command: bytes) -> bytes:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(command)
            return s.recv(4096)
    except OSError:
        return b""


class LocalCluster:
    """Three cluster-mode masters in ``folder``, each restartable on its own port."""

    def __init__(self, folder: Path | None = None, ports: list[int] | None = None) -> None:
        server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
        if server is None or cli is None:
            raise RuntimeError("a local cluster needs redis-server and redis-cli on PATH")
        self.server, self.cli = server, cli
        self.folder = folder or Path(tempfile.mkdtemp(prefix="pwcluster-"))
        self.ports = ports or [_free_port() for _ in range(MASTERS)]
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        """Any node names the whole cluster; this is the first."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self, timeout: float = 30.0) -> LocalCluster:
        fresh = not (self.folder / str(self.ports[0]) / "nodes.conf").exists()
        for port in self.ports:
            self.start_node(port)
        if fresh:
            subprocess.run([self.cli, "--cluster", "create",
                            *(f"127.0.0.1:{p}" for p in self.ports),
                            "--cluster-replicas", "0", "--cluster-yes"],
                           check=True, capture_output=True, timeout=timeout)
        self.wait_ok(timeout)
        return self

    def start_node(self, port: int, timeout: float = 20.0) -> None:
        node_dir = self.folder / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        with open(node_dir / "log", "ab") as log:
            self.procs[port] = subprocess.Popen(
                [self.server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(node_dir),
                 "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                 "--cluster-node-timeout", "2000", "--appendonly", "yes",
                 "--appendfsync", "always", "--save", "", "--protected-mode", "no"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not _reply(port, b"PING\r\n").startswith(b"+PONG"):
            if self.procs[port].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"cluster node {port} did not start; see {node_dir / 'log'}")
            time.sleep(0.02)

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Until every node says the cluster is ok (all slots served)."""
        deadline = time.monotonic() + timeout
        while not all(b"cluster_state:ok" in _reply(p, b"CLUSTER INFO\r\n") for p in self.ports):
            if time.monotonic() > deadline:
                raise RuntimeError("the local cluster did not reach cluster_state:ok")
            time.sleep(0.05)

    def stop_node(self, port: int, kill: bool = False) -> None:
        proc = self.procs.pop(port, None)
        if proc is None or proc.poll() is not None:
            return
        (proc.kill if kill else proc.terminate)()
        proc.wait(20)

    def restart_node(self, port: int, kill: bool = True) -> float:
        """Stop one master (SIGKILL by default) and start it again; seconds it was down."""
        down = time.monotonic()
        self.stop_node(port, kill=kill)
        self.start_node(port)
        self.wait_ok()
        return time.monotonic() - down

    def stop(self, remove: bool = True) -> None:
        for port in list(self.procs):
            self.stop_node(port)
        if remove:
            shutil.rmtree(self.folder, ignore_errors=True)

    def keys_per_node(self, pattern: str) -> dict[int, int]:
        """How many keys matching ``pattern`` each master holds."""
        counts = {}
        for port in self.ports:
            out = subprocess.run([self.cli, "-p", str(port), "--scan", "--pattern", pattern],
                                 capture_output=True, text=True, timeout=30).stdout
            counts[port] = len(out.split())
        return counts


def _pidfile(folder: Path) -> Path:
    return folder / "ports"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="A three-master Redis Cluster on local ports.")
    p.add_argument("action", choices=["start", "stop"])
    p.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "pyworkflow-cluster")
    p.add_argument("--base-port", type=int, default=7001,
                   help="the masters listen on this port and the next two (7001)")
    a = p.parse_args(argv)
    if a.action == "start":
        ports = [a.base_port + i for i in range(MASTERS)]
        cluster = LocalCluster(a.dir, ports)
        try:
            cluster.start()
        except (RuntimeError, subprocess.SubprocessError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        _pidfile(a.dir).write_text(" ".join(str(proc.pid) for proc in cluster.procs.values()))
        print(f"cluster up: PYWORKFLOW_REDIS_URL={cluster.url} (folder {a.dir})")
        return 0
    pids = _pidfile(a.dir).read_text().split() if _pidfile(a.dir).exists() else []
    for pid in pids:
        subprocess.run(["kill", pid], check=False)
    shutil.rmtree(a.dir, ignore_errors=True)
    print(f"cluster stopped ({len(pids)} nodes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
