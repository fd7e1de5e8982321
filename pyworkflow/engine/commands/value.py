"""Published values: ``await set_value(key, value)`` records the value in the journal
and projects every current value onto the run's record, where apps read them.

Resolved as soon as it is recorded. The current values are rebuilt from the journal
on replay, but only a live ``set_value`` projects: replay never re-publishes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ... import events as ev
from ... import serialization
from .base import CommandKind

if TYPE_CHECKING:
    import asyncio

    from ..command import Command
    from ..run import Run

Values = dict[str, Any]


class ValueKind(CommandKind[Values]):
    kind = "value"
    awaits_resolution = False
    observes = frozenset({ev.VALUE_SET})

    def new_state(self) -> Values:
        return {}

    def schedule(self, run: Run, key: str, value: Any) -> asyncio.Future[Any]:
        if not isinstance(key, str) or not key:
            raise TypeError(f"a value's key is a non-empty string, not {key!r}")
        encoded = serialization.encode(value, path=f"value {key!r}")
        serialization.check_limits(encoded, f"value {key!r}")
        return run.new_command(self.kind, key, {"value": encoded})

    def same(self, cmd: Command, etype: str, data: dict[str, Any]) -> bool:
        return cmd.name == data.get("key")

    def describe(self, cmd: Command) -> str:
        return f"set_value({cmd.name!r})"

    def describe_event(self, etype: str, data: dict[str, Any]) -> str:
        return f"set_value({data.get('key')!r})"

    def observe(self, run: Run, etype: str, data: dict[str, Any]) -> None:
        self.state(run)[data["key"]] = data.get("value")

    def emit(self, run: Run, cmd: Command) -> None:
        run.emit(ev.VALUE_SET, {"call_id": cmd.call_id, "key": cmd.name,
                                "value": cmd.payload["value"]})
        run.project(values=json.dumps(self.state(run)))
        self.matched(run, cmd, {})

    def matched(self, run: Run, cmd: Command, data: dict[str, Any]) -> None:
        if cmd.future is not None and not cmd.future.done():
            cmd.future.set_result(None)
            run.wake()
