"""Redis keys of pyworkflow's own global structures: one place that decides them.

A run's own keys (journal, record, mailbox, ...) are the actor runtime's
(``actors.keys``); what lives here spans runs: the runs index and the idempotency
keys. Each global structure carries its own hash tag, so on a Redis Cluster it sits
in one slot and no script mixes it with a run's keys.
"""

from __future__ import annotations


def runs_index(prefix: str) -> str:
    """Sorted set: every run id, scored by its creation time (newest last)."""
    return f"{prefix}:{{index}}:runs"


def idempotency_key(prefix: str, key: str) -> str:
    """String: the run id that an app's idempotency key started."""
    return f"{prefix}:{{idempotency}}:{key}"


def idempotency_index(prefix: str) -> str:
    """Sorted set of idempotency keys, scored by when retention should look at them next."""
    return f"{prefix}:{{idempotency}}:index"
