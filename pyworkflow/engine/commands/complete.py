"""The run's end: the code returned, raised, or was cancelled.

The core issues this command once the workflow's main task is done
(``Run.wake``); recording it projects the result or error onto the run's record,
applies its children's parent-close policies and tells its parent.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ... import events as ev
from .base import CommandKind

if TYPE_CHECKING:
    from ..command import Command
    from ..run import Run


class CompleteKind(CommandKind[None]):
    kind = "complete"

    def same(self, cmd: Command, etype: str, data: dict[str, Any]) -> bool:
        return True  # how a replayed run ends is decided again by its code

    def describe(self, cmd: Command) -> str:
        return f"workflow end ({cmd.name})"

    def describe_event(self, etype: str, data: dict[str, Any]) -> str:
        return f"workflow end ({etype})"

    def emit(self, run: Run, cmd: Command) -> None:
        run.emit(cmd.name, cmd.payload)
        status = ev.TERMINAL_STATUS[cmd.name]
        fields: dict[str, str] = {}
        error = None
        if cmd.name == ev.WORKFLOW_COMPLETED:
            fields["result"] = json.dumps(cmd.payload["result"])
        elif cmd.name == ev.WORKFLOW_FAILED:
            error = {"type": cmd.payload["error_type"], "message": cmd.payload["error"],
                     "traceback": cmd.payload.get("traceback")}
        else:
            error = {"type": "CancellationError",
                     "message": cmd.payload.get("reason") or "cancelled", "traceback": None}
        if error is not None:
            fields["error"] = json.dumps(error)
        run.end_run(status, fields, cmd.payload.get("result"), error)
