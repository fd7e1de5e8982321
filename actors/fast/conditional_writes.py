"""Writes made only if a commit queued before them, in the same round trip, happened.

A turn that ends right after a commit sends what it would have done after it (a
kept task's lease, its timers) in the commit's own round trip (``end_in_commit``).
Those writes must not happen when the commit does not (a lease counting a start of
an attempt nobody decided; a timer for a sleep never recorded): they are gathered
here and sent as one ``if_committed.lua``, which checks the actor's last commit id
first. Each is one command on one key; one server only (the keys span hash tags).
"""

from __future__ import annotations

from typing import Any


class ConditionalWrites:
    """Commands gathered for ``if_committed.lua``: each one command on one key."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.args: list[Any] = []

    def add(self, command: str, key: str, *args: Any) -> None:
        self.keys.append(key)
        self.args.extend((command, len(args), *args))

    def __bool__(self) -> bool:
        return bool(self.keys)

    def queue_on(self, pipe: Any) -> None:
        """Queue the same commands on ``pipe``, unconditionally (their owner's own round
        trip, when no commit carries them): one reply each, in order."""
        at = 0
        for key in self.keys:
            command, count = self.args[at], int(self.args[at + 1])
            pipe.execute_command(command, key, *self.args[at + 2:at + 2 + count])
            at += 2 + count
