"""What a firing does while a run the schedule started is still going.

* ``skip`` (default): start only if no run of the schedule is going; firings missed
  while no worker ran collapse into at most one catch-up run (the latest).
* ``buffer_one``: start when the running run ends; at most one firing waits, later
  ones are skipped.
* ``buffer_all``: every firing waits its turn; runs go one after another.
* ``cancel_other``: ask the running run to cancel, and start the new one once it has
  ended (the newest firing wins the wait).
* ``allow_all``: start every firing at once, whatever is running.

Pure: the schedule's behaviour asks :func:`decide` and turns the answer into events.
"""

from __future__ import annotations

from typing import Literal

OVERLAP_POLICIES: tuple[str, ...] = ("skip", "buffer_one", "buffer_all", "cancel_other",
                                     "allow_all")

Decision = Literal["start", "skip", "buffer", "cancel_and_buffer"]


def decide(policy: str, running: int, buffered: int) -> Decision:
    """``running``: runs of the schedule not yet ended; ``buffered``: firings waiting."""
    busy = running > 0 or buffered > 0
    if policy == "allow_all" or not busy:
        return "start"
    if policy == "buffer_all":
        return "buffer"
    if policy == "buffer_one":
        return "buffer" if buffered == 0 else "skip"
    if policy == "cancel_other":
        return "cancel_and_buffer"
    return "skip"


def collapses_catch_up(policy: str) -> bool:
    """Whether missed firings collapse into the latest one before ``decide``."""
    return policy == "skip"
