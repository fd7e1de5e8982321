"""What an app sees of a hook: ``HookInfo``, decoded from the hook's record. Pure, no I/O.

Apart from :mod:`pyworkflow.hook_store` (which reads and writes the record in Redis)
so that the pure modules (hook errors, the engine) can name the type without
importing anything that reaches Redis.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


@dataclass
class HookInfo:
    token: str
    name: str
    run_id: str
    call_id: int
    status: str
    expires_at: float | None
    created_at: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def hook_info_from_record(token: str, raw: dict[bytes, bytes],
                          now: float | None = None) -> HookInfo | None:
    """A hook's record as read from its hash (None when the hash is gone). A pending
    hook whose expiry has passed shows as ``expired``, as a delivery would find it."""
    if not raw:
        return None
    f = {k.decode(): v.decode() for k, v in raw.items()}
    expires = f.get("expires_at_ms")
    status = f["status"]
    now = time.time() if now is None else now
    if status == "pending" and expires and int(expires) <= now * 1000:
        status = "expired"
    return HookInfo(token, f["name"], f["run_id"], int(f["call_id"]), status,
                    int(expires) / 1000 if expires else None, float(f["created_at"]))
