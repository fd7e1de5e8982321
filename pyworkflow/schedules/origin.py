"""Where a schedule came from, for ``schedules list``: kept beside the schedules, not in
their records (the actor owns those), in one hash for the whole deployment.

Only imports write it today (``beat:proj.celery:app[entry]``); a schedule with no
origin was made by ``create_schedule``/the CLI or declared by ``@scheduled_workflow``.
"""

from __future__ import annotations

from .. import keys
from ..worker._runtime import runtime


def set_origin(schedule_id: str, origin: str) -> None:
    rt = runtime()
    rt.redis.hset(keys.schedule_origins(rt.settings.key_prefix), schedule_id, origin)


def forget_origin(schedule_id: str) -> None:
    rt = runtime()
    rt.redis.hdel(keys.schedule_origins(rt.settings.key_prefix), schedule_id)


def origins() -> dict[str, str]:
    """Every schedule id with a recorded origin -> that origin."""
    rt = runtime()
    raw = rt.redis.hgetall(keys.schedule_origins(rt.settings.key_prefix))
    return {_text(k): _text(v) for k, v in raw.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
