"""A timer turn of an actor this process does not cache reads its journal with its begin.

Against a real Redis, no workers, the toy ``TallyBehaviour`` of the early-turn tests:
the turn that rebuilds the actor (nothing cached: a far sleeper's wake-up) finds the
journal, sealed or not, in the begin's round trip and makes no read of its own, and
the state it rebuilds is the journal's; a begin that finds the journal moved on after
its read (cannot be while it owns the actor, but a seal may cross the read) reads it
again the usual way.
"""

from __future__ import annotations

from typing import Any

import pytest

from actors.compaction import seal
from actors.journal import Journal
from tests.actors.test_early_turn import _add, _events, _turn, tally  # noqa: F401


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every read of a journal a turn makes on its own (after its begin)."""
    made: list[int] = []
    real = Journal.read

    def read(self: Journal, after_seq: int = 0, count: int | None = None) -> Any:
        made.append(after_seq)
        return real(self, after_seq, count)

    monkeypatch.setattr(Journal, "read", read)
    return made


@pytest.mark.parametrize("sealed", [False, True])
def test_an_uncached_actors_timer_turn_reads_its_journal_with_its_begin(
        rt: Any, tally: str, monkeypatch: pytest.MonkeyPatch, sealed: bool) -> None:  # noqa: F811
    system = rt.system
    assert _turn(system, _add(tally, 1)) and _turn(system, _add(tally, 2))
    if sealed:
        assert seal(system, {tally: 0}) == 1
    system.cache.evict(tally)  # as if it slept in another process, or for long
    reads = _reads(monkeypatch)
    assert _turn(system, _add(tally, 4))
    assert reads == []  # the rebuild used what the begin read
    state, seq = system.cache.take(tally)
    assert (state.total, seq) == (7, 3)
    assert [d["total"] for _, d in _events(system, tally)] == [1, 3, 7]


def test_a_cached_actors_turn_reads_nothing_more(
        rt: Any, tally: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    system = rt.system
    assert _turn(system, _add(tally, 1))
    reads = _reads(monkeypatch)
    assert _turn(system, _add(tally, 2), early=False)  # begun first, then the cached state
    assert reads == []
    assert [d["total"] for _, d in _events(system, tally)] == [1, 3]
