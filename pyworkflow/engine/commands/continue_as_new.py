"""Continue-as-new: end this run and go on in a new one, with a fresh journal.

``await continue_as_new(*args, **kwargs)`` records ``workflow_continued_as_new``
(a terminal event: status ``continued_as_new``) naming the successor's run id, which
is decided here, in the committed turn: a crash or a replay never starts a second
successor (its start message's id derives from that run id). The successor gets the
same workflow with the new arguments, ``continued_from`` pointing back, and what the
run inherited (its parent, its schedule): a parent waits for the chain's last run,
not for each link. A traced run hands its trace context on as ``trace_link``: the
successor is a trace of its own that links back (a chain may go on for ever; one
trace per run keeps each trace bounded). The code's await never returns; the run has
ended.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from actors.effects import Send

from ... import events as ev
from ... import ids
from ...wire import StartRun, encode
from .base import CommandKind

if TYPE_CHECKING:
    import asyncio

    from ..command import Command
    from ..run import Run

#: What a successor inherits from the run it continues.
INHERITED = ("parent", "depth", "schedule_id", "deadline_ms")


class ContinueAsNewKind(CommandKind[None]):
    kind = "continue"
    awaits_resolution = False

    def schedule(self, run: Run, args: list[Any], kwargs: dict[str, Any]) -> asyncio.Future[Any]:
        run.checkpoint()
        workflow = (run.history.started or {}).get("workflow", "?")
        return run.new_command(self.kind, workflow, {"args": args, "kwargs": kwargs})

    def describe(self, cmd: Command) -> str:
        return f"continue_as_new({cmd.name!r})"

    def describe_event(self, etype: str, data: dict[str, Any]) -> str:
        return f"continue_as_new({data.get('workflow')!r})"

    def emit(self, run: Run, cmd: Command) -> None:
        successor = ids.new_run_id(ids.run_route(run.run_id))  # the same route
        run.emit(ev.WORKFLOW_CONTINUED_AS_NEW, {"call_id": cmd.call_id, "workflow": cmd.name,
                                               "continued_to": successor, **cmd.payload})
        started = run.history.started or {}
        start = StartRun(
            workflow=cmd.name, args=cmd.payload["args"], kwargs=cmd.payload["kwargs"],
            continued_from=run.run_id,
            # the successor is its own trace, linked to this one (pyworkflow.tracing)
            trace_link=run.trace or None,
            **{k: started[k] for k in INHERITED if started.get(k) is not None})
        run.effect(Send(successor, "start", encode(start),
                        msg_id=ids.start_message_id(successor)))
        run.end_run("continued_as_new", {"continued_to": successor,
                                         "result": json.dumps(None)}, None, None,
                    continued=True)
        self.matched(run, cmd, {})

    def matched(self, run: Run, cmd: Command, data: dict[str, Any]) -> None:
        run.ended_by_command()
