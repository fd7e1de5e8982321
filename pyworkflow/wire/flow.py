"""The message flow control sends a run: its concurrency slot was granted."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SlotGranted:
    """``slot-granted``: a slot the run waited for is its now (``limit``, ``key``)."""

    limit: str | None = None
    key: str | None = None
