"""Published values, from inside a workflow: ``await set_value(key, value)``.

The value is recorded in the run's journal and projected onto its record, where apps
read it with ``get_value(run_id, key)`` / ``get_values(run_id)`` or
``pyworkflow runs values RUN_ID``. A replay never publishes again.
"""

from __future__ import annotations

from typing import Any

from ..engine import in_workflow
from ..engine.commands import VALUE


async def set_value(key: str, value: Any) -> None:
    """Publish ``value`` (JSON, the project's codec) under ``key``; the latest wins."""
    run = in_workflow()
    if run is None:
        raise RuntimeError("set_value() can only be awaited inside a workflow")
    await VALUE.schedule(run, key, value)
