"""The wire: one frozen shape per message and task payload, one encoder, one decoder.

``MESSAGES`` maps each mailbox message kind a run accepts to its shape;
``decode_message`` is how the engine reads one (a payload that does not fit is a
:class:`WireError`, which the engine turns into a rejected, dead-lettered message).
"""

from __future__ import annotations

from typing import Any

from .codec import WireError, decode, encode
from .flow import SlotGranted
from .hook import HookDelivery
from .run import CancelRun, ChildEnded, RetryRun, StartRun, TimerFired, Wake
from .signal import SignalSent
from .step import StepAttempt, StepFailure, StepOutcome, StepUndelivered

#: The shape of each message kind a workflow run accepts.
MESSAGES: dict[str, type[Any]] = {
    "start": StartRun,
    "step-completed": StepOutcome,
    "step-failed": StepOutcome,
    "step-undelivered": StepUndelivered,
    "cancel": CancelRun,
    "retry": RetryRun,
    "wake": Wake,
    "timer-fired": TimerFired,
    "child-completed": ChildEnded,
    "signal": SignalSent,
    "hook-received": HookDelivery,
    "slot-granted": SlotGranted,
}


def decode_message(kind: str, payload: Any) -> Any:
    """The typed message of ``kind``; :class:`WireError` for an unknown kind or a
    payload that does not fit."""
    shape = MESSAGES.get(kind)
    if shape is None:
        raise WireError(f"a workflow run does not accept {kind!r} messages")
    return decode(shape, payload)


__all__ = ["MESSAGES", "CancelRun", "ChildEnded", "HookDelivery", "RetryRun", "SignalSent",
           "SlotGranted", "StartRun", "StepAttempt", "StepFailure", "StepOutcome",
           "StepUndelivered", "TimerFired", "Wake", "WireError", "decode", "decode_message",
           "encode"]
