"""The worker half: what runs inside ``pyworkflow worker run`` and talks to Redis.

The Celery tasks (``step_task``: one step attempt; the actor runtime's turn task, wired
in ``celery_app``), the process's runtime (``_runtime``: the Redis client, the Celery
app, the actor system, built once per process), and the Redis ports the engine and the
client use: run records (``run_ports``), hook records (``hook_store``), idempotency keys
(``idempotency``), step leases and time limits, retention sweeps, metrics counters and
the worker heartbeat. Each multi-key decision is a Lua script in a ``.lua`` file beside
the module that runs it (loaded by ``_scripts``).

Nothing here imports the client, the workflow half or the in-process runtimes: they
stand on this package, never the reverse. This ``__init__`` imports nothing, so
importing one port does not start a runtime.
"""
