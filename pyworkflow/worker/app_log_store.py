"""A run's app log in Redis: a stream per run (``keys.run_app_log``), capped.

Each ``XADD`` trims the stream to the newest ``app_log.MAX_LINES`` entries (exact,
not ``~``: the cap is a promise). How many were trimmed is the stream's
``entries-added`` less its length (``XINFO STREAM``, Redis 7), so no counter key is
kept. Retention deletes the stream with the run's other keys, and a step attempt's
lines, written after it, are written only while its run has a journal
(``app_log_append.lua``), so a step ending after a purge does not bring it back.
"""

from __future__ import annotations

from typing import Any

import actors
from actors.keys import ActorKeys

from .. import keys
from ..app_log import MAX_LINES, AppLogLine
from ._scripts import script

__all__ = ["RedisAppLogSink", "add_app_log", "append_app_log", "read_app_log"]


def add_app_log(pipe: Any, prefix: str, run_id: str, lines: list[AppLogLine]) -> None:
    """Queue the lines' writes on ``pipe``."""
    key = keys.run_app_log(prefix, run_id)
    for line in lines:
        pipe.xadd(key, line.to_stream(), maxlen=MAX_LINES, approximate=False)


def append_app_log(client: Any, prefix: str, run_id: str, lines: list[AppLogLine],
                   run_keys: ActorKeys) -> int:
    """Write a step attempt's lines after it, in one round trip of their own, if the run
    still has a journal (``run_keys``: its actor keys); returns how many were written.
    A turn's lines need no such check: they ride on its commit (``add_app_log``)."""
    args: list[Any] = [MAX_LINES]
    for line in lines:
        fields = line.to_stream()
        args.append(len(fields))
        for name, value in fields.items():
            args += [name, value]
    keys_ = [keys.run_app_log(prefix, run_id), run_keys.journal, run_keys.sealed]
    return int(script(client, "app_log_append")(keys=keys_, args=args))


class RedisAppLogSink:
    """The engine's ``AppLogSink`` on a worker: a turn's lines ride on its commit."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix

    def write(self, run_id: str, lines: list[AppLogLine]) -> None:
        prefix = self._prefix
        actors.ride_on_commit(lambda pipe: add_app_log(pipe, prefix, run_id, lines))


def read_app_log(client: Any, prefix: str, run_id: str,
                 newest: int | None = None) -> tuple[list[AppLogLine], int]:
    """The lines kept (oldest first; only the ``newest`` ones if given) and how many
    lines the run logged before them (trimmed by the cap, or not asked for)."""
    key = keys.run_app_log(prefix, run_id)
    pipe = client.pipeline(transaction=False)
    pipe.exists(key)
    pipe.xrevrange(key, "+", "-", count=newest)
    exists, entries = pipe.execute()
    if not exists:
        return [], 0
    info = client.xinfo_stream(key)
    added = int(_field(info, "entries-added") or _field(info, "length") or len(entries))
    lines = [AppLogLine.from_stream(fields) for _, fields in reversed(entries)]
    return lines, max(added - len(lines), 0)


def _field(info: dict[Any, Any], name: str) -> Any:
    return info.get(name, info.get(name.encode()))
