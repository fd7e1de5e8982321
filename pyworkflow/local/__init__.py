"""The in-process runtimes: runs driven in this process instead of by workers.

``run_local`` (``runtime``: durable, journaled to Redis by this process, resumable with
``--resume``; ``journal`` holds its save and the owner mark), ``run_transient``
(``transient``: nothing journaled) and :mod:`pyworkflow.testing` (the virtual-clock test
environment) all stand on the same core: ``environment`` (``WorkflowEnvironment`` and
``RunHandle``: the engine's turns, timers and steps driven in memory), ``clock`` (real
and virtual time), ``_env_state`` (a run's state as data, saved and loaded) and
``step_runner`` (one step attempt, as a worker makes it). ``determinism_check`` replays
recorded journals against the current code.

Production code imports this package, never ``pyworkflow.testing``, which is only the
public face of it for tests. This ``__init__`` imports nothing.
"""
