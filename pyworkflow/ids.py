"""Ids that pyworkflow derives: built here and nowhere else.

A run id is the run actor's id (the runtime routes ``run-...`` actors to the
workflow behaviour). The start message's id is derived from the run id, so a start
sent twice (a retried client call, a parent replayed) is one message to the run.
"""

from __future__ import annotations

import uuid

RUN_ID_PREFIX = "run-"


def new_run_id() -> str:
    """80 random bits after the prefix: unguessable and short enough to type."""
    return f"{RUN_ID_PREFIX}{uuid.uuid4().hex[:20]}"


def start_message_id(run_id: str) -> str:
    return f"{run_id}:start"
