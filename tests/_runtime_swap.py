"""This process's runtime on other settings for a while, then the session's again.

Tests that bring their own Redis (to restart it, to put the journal apart from the
broker, to use sentinels or RabbitMQ) point ``PYWORKFLOW_*`` elsewhere and drop the
cached runtime; afterwards the variables and the session's runtime come back, and
dead letters go to the session's Redis again (their sink is per process).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from actors.transport_guard import route_dead_letters
from pyworkflow.worker import _runtime


@contextlib.contextmanager
def runtime_on(env: dict[str, str]) -> Iterator[None]:
    """Within: ``env`` (``PYWORKFLOW_*`` settings) in force and a runtime built from it."""
    old = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    previous = _runtime._runtime
    _runtime._runtime = None
    try:
        yield
    finally:
        _runtime._runtime = previous
        if previous is not None:
            route_dead_letters(previous.system.dead_letter_from_queue)
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
