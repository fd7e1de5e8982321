"""Instruments: named hooks the runtime calls for metrics (and tracing), like a middleware.

The runtime knows nothing of what is measured or where it goes; a user of
``actors`` adds an :class:`Instrument` to ``ActorSystem.instruments`` and overrides
the hooks it needs. Two promises make that safe to put on the hot path:

* **An instrument never fails the runtime.** Every call goes through
  :class:`Instruments`, which catches whatever a hook raises (Redis down, a bug) and
  logs it, rate-limited; the turn or the maintenance pass goes on as if nothing was
  measured.
* **Hooks are called after the fact**: a batch's hook after its commit, a timer's
  after its message was delivered, so what they see is durable; a process that dies
  in between loses that one observation, never a message.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import log as _log

if TYPE_CHECKING:
    from .behaviour import TurnContext
    from .message import Message
    from .timers import ClaimedTimer

logger = _log.get_logger("actors.instruments")

#: A failing instrument is reported at most once per this many seconds.
REPORT_EVERY_S = 60.0


class Instrument:
    """Base class: every hook does nothing; override those you need."""

    def batch_committed(self, ctx: TurnContext, state: Any, messages: Sequence[Message],
                        taken_at: float) -> None:
        """A batch of ``messages`` (taken at ``taken_at``, epoch seconds) was committed
        with ``ctx.events``; ``state`` is the actor's state after it."""

    def timers_fired(self, timers: Sequence[ClaimedTimer], now_ms: int) -> None:
        """The maintenance loop delivered these due timers (``now_ms``: Redis time)."""


class Instruments:
    """The instruments of one actor system, called in order; see the module docstring."""

    def __init__(self) -> None:
        self._all: list[Instrument] = []
        self._reported_at = 0.0

    def add(self, instrument: Instrument) -> None:
        self._all.append(instrument)

    def __bool__(self) -> bool:
        return bool(self._all)

    def batch_committed(self, ctx: TurnContext, state: Any, messages: Sequence[Message],
                        taken_at: float) -> None:
        for instrument in self._all:
            try:
                instrument.batch_committed(ctx, state, messages, taken_at)
            except Exception as exc:
                self._report(instrument, exc)

    def timers_fired(self, timers: Sequence[ClaimedTimer], now_ms: int) -> None:
        for instrument in self._all:
            try:
                instrument.timers_fired(timers, now_ms)
            except Exception as exc:
                self._report(instrument, exc)

    def _report(self, instrument: Instrument, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._reported_at >= REPORT_EVERY_S or not self._reported_at:
            self._reported_at = now
            logger.warning("an instrument failed; nothing else is affected",
                           instrument=type(instrument).__name__,
                           error=f"{type(exc).__name__}: {exc}")
