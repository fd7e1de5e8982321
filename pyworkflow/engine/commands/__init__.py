"""The table of command kinds: adding a kind is one file here plus one line below.

``KINDS`` maps each kind (as ``events.COMMAND_KINDS`` names it) to its class;
``RESOLVERS`` maps each resolution event to the kind whose calls it ends;
``MESSAGES`` and ``TIMERS`` map each mailbox message kind and timer purpose a run
accepts to its handler. The engine looks everything up here, so no string switch
on kinds is spread through it.
"""

from __future__ import annotations

from typing import Any

from .base import CommandKind, Handler, Outcome
from .cancel import Cancellation
from .child import CancelChildKind, ChildKind, StartedChild
from .complete import CompleteKind
from .continue_as_new import ContinueAsNewKind
from .hook import HookKind
from .patch import PatchKind
from .recovery import Recovery
from .signal import SignalKind
from .sleep import SleepKind
from .slot import SlotGate
from .step import StepKind
from .value import ValueKind

STEP = StepKind()
SLEEP = SleepKind()
HOOK = HookKind()
CHILD = ChildKind()
CANCEL_CHILD = CancelChildKind()
COMPLETE = CompleteKind()
SIGNAL = SignalKind()
VALUE = ValueKind()
PATCH = PatchKind()
CONTINUE_AS_NEW = ContinueAsNewKind()

KINDS: dict[str, CommandKind[Any]] = {
    kind.kind: kind
    for kind in (STEP, SLEEP, HOOK, CHILD, CANCEL_CHILD, COMPLETE, SIGNAL, VALUE, PATCH,
                 CONTINUE_AS_NEW)}
RESOLVERS: dict[str, CommandKind[Any]] = {
    event: kind for kind in KINDS.values() for event in kind.resolutions}

OBSERVERS: dict[str, list[CommandKind[Any]]] = {}
for _kind in KINDS.values():
    for _event in _kind.observes:
        OBSERVERS.setdefault(_event, []).append(_kind)

SLOT_GATE = SlotGate()
CANCELLATION = Cancellation(KINDS, SLOT_GATE)
RECOVERY = Recovery(KINDS, SLOT_GATE)

TIMERS: dict[str, Handler] = {
    **{purpose: handler for kind in KINDS.values()
       for purpose, handler in kind.timers().items()},
    **CANCELLATION.timers()}
MESSAGES: dict[str, Handler] = {
    **{message: handler for kind in KINDS.values()
       for message, handler in kind.messages().items()},
    **CANCELLATION.messages(), **RECOVERY.messages(), **SLOT_GATE.messages()}

__all__ = ["CANCELLATION", "CANCEL_CHILD", "CHILD", "COMPLETE", "CONTINUE_AS_NEW", "HOOK",
           "KINDS", "MESSAGES",
           "OBSERVERS", "PATCH", "RECOVERY", "RESOLVERS", "SIGNAL", "SLEEP", "SLOT_GATE", "STEP",
           "TIMERS",
           "VALUE", "CommandKind", "Handler", "Outcome", "StartedChild"]
