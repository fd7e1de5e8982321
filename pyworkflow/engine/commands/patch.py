"""Patching: changing workflow code without breaking the runs already in flight.

``if patched("fraud-check-v2"): new() else: old()``. A run that reaches the call
with this code records a marker (``patch_marked``) and takes the new branch; a run
replaying a journal that went past this point *without* the marker takes the old
branch, so its replay still matches what it recorded. The engine knows the whole
journal before the code replays (``Run.apply`` takes, ``Run.catch_up`` replays), so
``patched()`` answers synchronously: True when the journal holds the marker or the
code is past the journal's end, False otherwise. ``deprecate_patch`` is for when no
run from before the patch remains: the code keeps only the new branch, and a marker
still in a journal is matched, never required.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ... import events as ev
from .base import CommandKind

if TYPE_CHECKING:
    from ..command import Command
    from ..run import Run


#: Each change id's answer in this run, once given: a second call gives the same one
#: (and records no second marker).
Answers = dict[str, bool]


class PatchKind(CommandKind[Answers]):
    kind = "patch"
    awaits_resolution = False

    def new_state(self) -> Answers:
        return {}

    def patched(self, run: Run, change_id: str) -> bool:
        _check(change_id)
        answers = self.state(run)
        if change_id not in answers:
            # The journal holds the marker, or the code runs past the journal's end (new
            # code, new branch); else the journal went on past here without the marker.
            answers[change_id] = change_id in run.patch_markers or run.at_journal_end
            if answers[change_id]:
                self._mark(run, change_id)
        return answers[change_id]

    def deprecated(self, run: Run, change_id: str) -> None:
        _check(change_id)
        answers = self.state(run)
        if change_id not in answers:
            answers[change_id] = True
            if change_id in run.patch_markers:  # recorded before the deprecation: match it
                self._mark(run, change_id)

    def _mark(self, run: Run, change_id: str) -> None:
        future = run.new_command(self.kind, change_id, {})
        future.add_done_callback(lambda f: None)  # nothing awaits a marker

    def same(self, cmd: Command, etype: str, data: dict[str, Any]) -> bool:
        return cmd.name == data.get("change_id")

    def describe(self, cmd: Command) -> str:
        return f"patched({cmd.name!r})"

    def describe_event(self, etype: str, data: dict[str, Any]) -> str:
        return f"patched({data.get('change_id')!r})"

    def emit(self, run: Run, cmd: Command) -> None:
        run.emit(ev.PATCH_MARKED, {"call_id": cmd.call_id, "change_id": cmd.name})


def _check(change_id: str) -> None:
    if not isinstance(change_id, str) or not change_id:
        raise TypeError(f"a patch's change id is a non-empty string, not {change_id!r}")
