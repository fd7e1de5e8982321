"""Published values: ``await set_value(key, value)`` records the value in the journal
and projects every current value onto the run's record, where apps read them.

Resolved as soon as it is recorded. The current values are rebuilt from the journal
on replay, but only a live ``set_value`` projects: replay never re-publishes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ... import events as ev
from ... import limits, serialization
from .base import CommandKind

if TYPE_CHECKING:
    import asyncio

    from ..command import Command
    from ..run import Run

Values = dict[str, Any]

#: The longest value key, in characters: a key is journaled with every ``set_value``,
#: kept in the run's record and shown by ``runs values`` and the dashboard, so it has
#: the bounds of a signal name (``pyworkflow.limits``).
MAX_VALUE_KEY_CHARS = limits.MAX_SIGNAL_NAME_CHARS
#: At most this many distinct keys per run: every ``set_value`` rewrites the record's
#: ``values`` field with all current values, so their number is bounded (a key already
#: set can always be set again).
MAX_VALUE_KEYS = 1_000


def check_value_key(key: Any) -> str:
    """``key`` if it is a usable value key: a non-empty, printable string of at most
    ``MAX_VALUE_KEY_CHARS`` characters (``TypeError`` / ``ValueError`` otherwise)."""
    return limits.check_text(key, "value key", MAX_VALUE_KEY_CHARS)


class ValueKind(CommandKind[Values]):
    kind = "value"
    awaits_resolution = False
    observes = frozenset({ev.VALUE_SET})

    def new_state(self) -> Values:
        return {}

    def schedule(self, run: Run, key: str, value: Any) -> asyncio.Future[Any]:
        check_value_key(key)
        current = self.state(run)
        if key not in current and len(current) >= MAX_VALUE_KEYS:
            raise ValueError(f"a run sets at most {MAX_VALUE_KEYS} distinct value keys and "
                             f"this one has {len(current)}; {key[:60]!r} is a new one (set "
                             "an existing key again, or publish a dict under one key)")
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
