"""A command: what workflow code asked for at one position of its run.

Every primitive a workflow awaits (a step, a sleep, a hook, a child, its own end)
issues one command with a position (``call_id``). On replay the command is matched
against the event that recorded it; live, the command's kind records that event and
its effects (see ``commands``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any


@dataclass
class Command:
    call_id: int
    kind: str
    name: str
    payload: dict[str, Any]
    future: asyncio.Future[Any] | None
