"""Reproduce, deterministically, a worker SIGKILLed at a point where a run can be lost.

    python ops/chaos/repro_kill_window.py --die-at taken          # Redis fast path: recovers
    python ops/chaos/repro_kill_window.py --die-at rpop           # Kombu path: message lost
    python ops/chaos/repro_kill_window.py --die-at tag [--wait-sweep]   # Kombu path: stranded
    python ops/chaos/repro_kill_window.py --die-at step-received  # step task never started
    python ops/chaos/repro_kill_window.py --die-at commit-reply-lost  # effects left in the outbox

Found by the chaos run (``ops/chaos/run.py``). A SIGKILL that lands while a turn
takes messages from its actor's mailbox could leave the run stuck forever:

* Kombu path (the broker is not the runtime's Redis; forced here with a broker URL
  that names the same server by another address, 127.0.0.2): a turn takes messages with Kombu's
  ``basic_get(no_ack=False)``, which on the Redis transport is two round trips
  (``RPOP`` the list, then ``QoS.append``: ``HSET`` the unacked hash), and only then
  records the delivery tags in the actor's in-flight list, which recovery uses:

  * killed between ``RPOP`` and ``HSET`` (``--die-at rpop``): the message is in no
    Redis key at all; recovery restores nothing; the run waits forever;
  * killed between ``HSET`` and recording the tag (``--die-at tag``): recovery
    restores nothing ("restored_messages": 0); the mailbox sweep puts the message
    back in the mailbox list after the 300 s visibility timeout, but nothing
    activates the actor, so no turn takes it (``--wait-sweep`` shows it).

* Redis fast path (the default, commit ee065ea): ``take.lua`` moves the batch into
  the actor's ``taken`` list atomically and recovery puts it back; ``--die-at
  taken`` kills right after the take and checks that the run recovers.

* ``--die-at step-received``: a worker SIGKILLed after it received a step task from
  the broker but before a pool process started it. The attempt never took its
  step lease, so no worker reports it lost; the task sits in Celery's ``unacked``
  hash until the broker's visibility timeout (3600 s), and the run waits that long
  ("running", a ``step_scheduled`` with no outcome).

* ``--die-at commit-reply-lost`` (no kill; seen around a Redis restart): a turn's
  commit script runs, its reply is lost with the connection, and redis-py's
  ``Retry`` sends it again; the second run fails as a sequence conflict ("journal
  moved on; rebuilding state"), the turn rebuilds, drops its message as
  redelivered and ends, and the effects the first run staged stay in the run's
  outbox: nothing dispatches them, since the run is idle (no activation, no
  lease-index entry) and no message will come. Here the staged effect is the
  child's ``start`` (``--kind start``); in the chaos run it was a sleep's timer.

This script starts its own Redis (AOF always), a *victim* worker that SIGKILLs
its own process group at that point (the first time a turn takes the child run's
``start`` message; ``--kind`` picks another kind, e.g. ``child-completed``), then a
healthy *survivor* worker. It starts ``repro_parent``, which starts the child
``repro_child`` and waits for it, and reports where the message or task is. Exit
status 0 when the run completed (recovered), 1 when it is stuck, 2 when the victim
never reached the point.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from ops.chaos.run import (  # noqa: E402
    ChaosRedis,
    WorkerProc,
    _raise_interrupt,
    actor_state,
    clean_environment,
    log,
)

MODULE = "ops.chaos.repro_kill_window_workflows"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--die-at", default="taken",
                   choices=["taken", "rpop", "tag", "step-received", "commit-reply-lost"])
    p.add_argument("--kind", default="start",
                   help="message kind whose take kills the victim (start: the child's start)")
    p.add_argument("--wait", type=float, default=40.0,
                   help="seconds to wait for the run after the survivor started (40)")
    p.add_argument("--wait-sweep", action="store_true",
                   help="also wait past the mailbox's 300 s unacked sweep")
    p.add_argument("--keep", action="store_true", help="keep the folder with the logs")
    args = p.parse_args(argv)
    os.chdir(REPO)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="pwrepro-"))
    redis = ChaosRedis(workdir, alias=args.die_at in ("rpop", "tag"))
    workers: list[WorkerProc] = []
    try:
        redis.start()
        prefix = f"pwrepro-{uuid.uuid4().hex[:8]}"
        env = clean_environment(redis.url, prefix, workdir)
        if args.die_at in ("rpop", "tag"):
            # Same server, another name: the runtime no longer sees the broker as its
            # own Redis and takes mailbox messages through Kombu.
            os.environ["PYWORKFLOW_BROKER_URL"] = env["PYWORKFLOW_BROKER_URL"] = redis.alias_url
        (workdir / "logs").mkdir()
        import pyworkflow
        from ops.chaos import repro_kill_window_workflows  # noqa: F401
        from pyworkflow import events
        from pyworkflow.worker import _runtime

        rt = _runtime.runtime()
        log(f"mailbox path: {'Redis fast path' if rt.system.mailbox_in_redis else 'Kombu'}")
        victim = WorkerProc("victim", workdir / "logs", {
            **env, "REPRO_DIE_AT": args.die_at, "REPRO_KIND": args.kind}, 2, MODULE)
        workers.append(victim.start())
        while not victim.poll_ready():
            time.sleep(0.1)
        run_id = pyworkflow.start("repro_parent", 20)
        what = {"step-received": "receiving a step task",
                "commit-reply-lost": f"(no kill) a commit sending '{args.kind}', run twice"}.get(
            args.die_at, f"taking a '{args.kind}' message")
        log(f"started {run_id}; victim dies at '{args.die_at}' {what}")
        if args.die_at != "commit-reply-lost":
            deadline = time.monotonic() + 30
            while victim.alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            if victim.alive():
                log("the victim never reached the injection point")
                return 2
            victim.signal_group(signal.SIGKILL)
            log("victim SIGKILLed itself; starting the survivor")
            survivor = WorkerProc("survivor", workdir / "logs", env, 2, MODULE)
            workers.append(survivor.start())
        wait = args.wait + (340.0 if args.wait_sweep else 0.0)
        waited_from = time.monotonic()
        deadline = waited_from + wait
        while time.monotonic() < deadline:
            if pyworkflow.get_workflow_run(run_id).status in ("completed", "failed"):
                break
            time.sleep(0.5)
        info = pyworkflow.get_workflow_run(run_id)
        log(f"parent {run_id}: {info.status} (result {info.result!r}) after "
            f"{time.monotonic() - waited_from:.0f}s (waiting at most {wait:.0f}s)")
        for e in pyworkflow.get_workflow_events(run_id):
            log(f"  {e['seq']} {e['type']} {json.dumps(e['data'])[:160]}")
        child = next((e["data"]["child_run_id"] for e in pyworkflow.get_workflow_events(run_id)
                      if e["type"] == events.CHILD_STARTED), None)
        for actor in filter(None, [child, run_id]):
            raw = rt.redis.hget(rt.system.actor_keys(actor).record, "status")
            outbox = rt.redis.hgetall(rt.system.actor_keys(actor).outbox)
            log(f"{actor}: status {raw.decode() if raw else None}; "
                f"{actor_state(rt, actor)}; outbox {outbox}")
            if actor == child and raw:
                for e in pyworkflow.get_workflow_events(actor):
                    log(f"  {e['seq']} {e['type']} {json.dumps(e['data'])[:160]}")
        tasks = [json.loads(v)[0]["headers"].get("id") for v in rt.redis.hvals("unacked")]
        log(f"Celery tasks taken by a worker and not acknowledged (restored only after the "
            f"broker's visibility timeout): {tasks}")
        for w in workers:
            for line in w.log_lines_with(["actors.recovery", "earlier turn tasks",
                                          "journal moved on", "redelivered"], 10):
                log(line[:300])
        return 0 if info.status == "completed" else 1
    finally:
        for w in workers:
            w.signal_group(signal.SIGKILL)
        redis.stop(kill=True)
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
