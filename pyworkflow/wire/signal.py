"""The ``signal`` message: a named payload for a run, kept until the code takes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SignalSent:
    name: str
    payload: Any = None
    signal_id: str | None = None
