"""The protocol every kind of command follows, so a new kind is one file.

A kind says which event records its command (``event``), how it records one live
(``emit``), what replay restores when that event is met (``matched``), which events
end its calls and what the waiting code gets from them (``resolutions``,
``outcome``), which mailbox messages and timer purposes it handles (``messages``,
``timers``), and what it does when the run is cancelled (``interrupt``), retried by
an operator (``retry_call``) or ends (``on_run_end``). Kinds talk to the run only
through its core verbs (:class:`~pyworkflow.engine.run.Run`), never to each other:
the engine finds a kind through the table in ``commands/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

if TYPE_CHECKING:
    from ..command import Command
    from ..history import CallRecord
    from ..run import Run

S = TypeVar("S")

#: What a resolution event gives the code that awaits the call: ``("value", v)`` or
#: ``("error", exception)``; None when the event does not end the call (a retry).
Outcome = tuple[str, Any] | None
#: A handler of a mailbox message (or of a timer purpose) addressed to a run: it gets
#: the message's typed shape (``pyworkflow.wire``), decoded once by the behaviour.
Handler = Callable[["Run", Any], None]


class CommandKind(Generic[S]):
    #: the command's kind, as ``events.COMMAND_KINDS`` names it
    kind: ClassVar[str] = ""
    #: the events that end this kind's calls
    resolutions: ClassVar[frozenset[str]] = frozenset()
    #: whether the code's future is the call's (resolved by a resolution event); a
    #: child's future is resolved with a handle at once, its result comes separately
    awaits_resolution: ClassVar[bool] = True
    #: events this kind keeps state from (replayed and new alike): see ``observe``
    observes: ClassVar[frozenset[str]] = frozenset()

    # -- state a kind keeps per run (not in the journal, rebuilt by replay) ---------
    def new_state(self) -> S:
        return None  # type: ignore[return-value]

    def state(self, run: Run) -> S:
        return run.kind_state[self.kind]  # type: ignore[no-any-return]

    # -- replay ------------------------------------------------------------------------
    def same(self, cmd: Command, etype: str, data: dict[str, Any]) -> bool:
        """Whether the recorded event is this command (same kind is already checked)."""
        return cmd.name == recorded_name(data)

    def describe(self, cmd: Command) -> str:
        return f"{self.kind.replace('_', ' ')} {cmd.name!r}"

    def describe_event(self, etype: str, data: dict[str, Any]) -> str:
        return f"{self.kind.replace('_', ' ')} {recorded_name(data)!r}"

    def matched(self, run: Run, cmd: Command, data: dict[str, Any]) -> None:
        """A replayed command met its recorded event: restore what the event decided."""

    def observe(self, run: Run, etype: str, data: dict[str, Any]) -> None:
        """An event in ``observes`` was replayed or recorded: update this kind's state."""

    # -- live --------------------------------------------------------------------------
    def emit(self, run: Run, cmd: Command) -> None:
        """Record the command (its event and effects) in the turn being committed."""
        raise NotImplementedError

    def outcome(self, run: Run, etype: str, data: dict[str, Any]) -> Outcome:
        return None

    def messages(self) -> dict[str, Handler]:
        """Mailbox message kinds this kind handles."""
        return {}

    def timers(self) -> dict[str, Handler]:
        """Timer purposes (``timer-fired`` payloads) this kind handles."""
        return {}

    # -- what happens to open calls ---------------------------------------------------
    def interrupt(self, run: Run, call: CallRecord) -> bool:
        """The run is being cancelled: stop waiting on ``call`` if this kind can; True
        when the call's wait was interrupted (the run records ``wait_cancelled``)."""
        return False

    def retry_call(self, run: Run, call: CallRecord) -> None:
        """An operator retries the run at ``call`` (parked, or the failed one)."""

    def on_run_end(self, run: Run, call: CallRecord) -> None:
        """The run ends while ``call`` is still open."""


def recorded_name(data: dict[str, Any]) -> str | None:
    name = data.get("step") or data.get("name") or data.get("workflow")
    return name if isinstance(name, str) else None
