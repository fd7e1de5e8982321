"""Signals, from inside a workflow: ``await wait_for_signal(name, timeout=None)``.

Apps send them with ``send_signal(run_id, name, payload)`` (``pyworkflow.client``,
``pyworkflow.client.aio``, ``pyworkflow runs signal``). Signals that arrive before the
run waits are kept, in arrival order, and each is delivered exactly once (see
``engine/commands/signal.py``).
"""

from __future__ import annotations

from typing import Any

from ..engine import in_workflow
from ..engine.commands import SIGNAL


async def wait_for_signal(name: str, timeout: Any = None) -> Any:
    """The payload of the next signal named ``name`` (the oldest one not yet delivered).

    With ``timeout`` (a duration) the wait raises ``SignalTimeoutError`` when it passes
    with no signal. A cancel interrupts the wait (``CancellationError``) unless it was
    begun inside ``shield()``.
    """
    run = in_workflow()
    if run is None:
        raise RuntimeError("wait_for_signal() can only be awaited inside a workflow")
    return await SIGNAL.schedule(run, name, timeout)
