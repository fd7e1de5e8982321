"""The main job: a real workflow on a real worker, from nothing but this checkout.

``python3 dev.py demo`` (or ``python -m pyworkflow.demo``) resolves Redis (the one
configured, else a local one on 6379, else the embedded server, started here),
starts a ``pyworkflow worker run`` process, runs ``order_workflow`` from example
01, prints its result and its event log, and stops what it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = "examples.celery.durable.01_basic_workflow"
ROOT = Path(__file__).resolve().parent.parent


def _wait_ready(proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the worker exited early:\n{log.read_text(errors='replace')[-3000:]}")
        if " ready." in log.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise SystemExit(f"the worker was not ready after {timeout}s; see {log}")


def main() -> int:
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    from . import _runtime
    from ._embedded_redis import embedded_status, stop_embedded
    from .client import get_workflow_events, start, wait_for_run
    from .config import load_settings, redact_url

    settings = load_settings()
    was_running = embedded_status(settings.data_dir).running
    rt = _runtime.runtime()
    started_server = rt.settings.embedded and not was_running
    env = dict(os.environ)
    if rt.settings.embedded:  # the worker attaches to the same embedded server
        env["PYWORKFLOW_REDIS_URL"] = rt.settings.redis_url
    log = Path(tempfile.mkstemp(prefix="pyworkflow-demo-worker-", suffix=".log")[1])
    print(f"Redis: {redact_url(rt.settings.redis_url)}"
          f"{' (embedded, started for this demo)' if started_server else ''}")
    print(f"Starting a worker: pyworkflow --module {EXAMPLE} worker run  (log: {log})")
    with open(log, "wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "pyworkflow", "--module", EXAMPLE, "worker", "run",
             "--concurrency", "2"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_ready(worker, log)
        __import__(EXAMPLE)
        run_id = start("order_workflow", "order-123", 99.99)
        print(f"Started order_workflow(order_id='order-123', amount=99.99): run {run_id}")
        info = wait_for_run(run_id, timeout=60)
        print(f"\nStatus: {info.status}")
        print(f"Result: {info.result}")
        print("\nEvent log:")
        for event in get_workflow_events(run_id):
            data = {k: v for k, v in event["data"].items()
                    if k not in ("kwargs", "max_attempts", "retry_delay", "timeout")}
            print(f"  {event['seq']:>2}  {event['type']:<20} {data}")
        return 0 if info.status == "completed" else 1
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        if started_server:
            stop_embedded(rt.settings.data_dir)
            print("Stopped the embedded Redis.")
        print("Stopped the worker.")


if __name__ == "__main__":
    sys.exit(main())
