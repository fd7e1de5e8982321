"""The main job: a real workflow on a real worker, from nothing but this checkout.

``python3 dev.py demo`` (or ``python -m pyworkflow.client.demo``) resolves Redis (the one
configured, else a local one on 6379, else the embedded server, started here),
starts a ``pyworkflow worker run`` process, runs ``order_workflow`` from example
01, prints its result and its event log, and stops what it started.

A failure anywhere is one line saying what failed, then the tail of the worker's
log, and a non-zero exit: never a traceback (``--debug`` shows it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

EXAMPLE = "examples.celery.durable.01_basic_workflow"
ROOT = Path(__file__).resolve().parents[2]  # the checkout: pyworkflow/client/demo.py
READY_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 60.0
LOG_TAIL_LINES = 25


class DemoFailed(Exception):
    """One line for the user; the worker's log tail follows it."""


def _tail(log: Path) -> str:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-LOG_TAIL_LINES:])


def _wait_ready(proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DemoFailed(f"the worker exited early (status {proc.returncode})")
        if " ready." in log.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise DemoFailed(f"the worker was not ready after {READY_TIMEOUT_S:.0f}s")


def _stop_worker(worker: subprocess.Popen[bytes]) -> None:
    """SIGTERM the worker's process group (a warm shutdown), SIGKILL if it lingers; a
    worker that already exited is simply reaped."""
    if worker.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)


def _print_run(run_id: str, info: Any, events: list[dict[str, Any]]) -> None:
    print(f"\nStatus: {info.status}")
    print(f"Result: {info.result}")
    if info.error:
        print(f"Error:  {info.error.get('type')}: {info.error.get('message')}")
    print("\nEvent log:")
    for event in events:
        data = {k: v for k, v in event["data"].items()
                if k not in ("kwargs", "max_attempts", "retry_delay", "timeout")}
        print(f"  {event['seq']:>2}  {event['type']:<20} {data}")


def _run(log: Path, state: dict[str, Any]) -> int:
    from ..config import load_settings, redact_url
    from ..worker import _runtime
    from ..worker._embedded_redis import embedded_status
    from .sync import get_workflow_events, start, wait_for_run

    settings = load_settings()
    was_running = embedded_status(settings.data_dir).running
    rt = _runtime.runtime()
    state["settings"] = rt.settings
    state["started_server"] = rt.settings.embedded and not was_running
    rt.redis.ping()
    env = dict(os.environ)
    if rt.settings.embedded:  # the worker attaches to the same embedded server
        env["PYWORKFLOW_REDIS_URL"] = rt.settings.redis_url
    print(f"Redis: {redact_url(rt.settings.redis_url)}"
          f"{' (embedded, started for this demo)' if state['started_server'] else ''}")
    print(f"Starting a worker: pyworkflow --module {EXAMPLE} worker run  (log: {log})")
    with open(log, "wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "pyworkflow", "--module", EXAMPLE, "worker", "run",
             "--concurrency", "2"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    state["worker"] = worker
    _wait_ready(worker, log)
    __import__(EXAMPLE)
    run_id = start("order_workflow", "order-123", 99.99)
    print(f"Started order_workflow(order_id='order-123', amount=99.99): run {run_id}")
    try:
        info = wait_for_run(run_id, timeout=RUN_TIMEOUT_S)
    except TimeoutError:
        raise DemoFailed(f"run {run_id} did not finish within {RUN_TIMEOUT_S:.0f}s") from None
    _print_run(run_id, info, get_workflow_events(run_id))
    if info.status != "completed":
        raise DemoFailed(f"run {run_id} ended {info.status}, not completed")
    return 0


def _clean_up(state: dict[str, Any]) -> None:
    worker = state.get("worker")
    if worker is not None:
        _stop_worker(worker)
        print("Stopped the worker.")
    if state.get("started_server"):
        from ..worker._embedded_redis import stop_embedded

        with contextlib.suppress(Exception):
            stop_embedded(state["settings"].data_dir)
            print("Stopped the embedded Redis.")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    log = Path(tempfile.mkstemp(prefix="pyworkflow-demo-worker-", suffix=".log")[1])
    state: dict[str, Any] = {}
    try:
        return _run(log, state)
    except KeyboardInterrupt:
        print("\ndemo: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        from actors.redaction import redact

        reason = str(exc) if isinstance(exc, DemoFailed) else f"{type(exc).__name__}: {exc}"
        reason = redact(reason)
        print(f"\ndemo failed: {reason}", file=sys.stderr)
        tail = _tail(log)
        if tail:
            print(f"--- last lines of the worker's log ({log}) ---\n{tail}", file=sys.stderr)
        return 1
    finally:
        _clean_up(state)


if __name__ == "__main__":
    sys.exit(main())
