"""The ``hook-received`` message: a payload that passed the door, for a waiting hook."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class HookDelivery:
    token: str
    call_id: int
    payload: Any = None
