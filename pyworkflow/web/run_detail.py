"""Everything the run page shows about one run, gathered in one call.

Read from what the run itself wrote: its record (status, arguments, result or error,
published values) and its journal (events, timeline, children, hooks). Hooks and
children are found through the run's own ``hook_created`` / ``child_started``
events, so the page never walks the global hooks index.

A hook's token is the credential that resumes it, so the page gets it whole only
when actions are on (to resume from the page); otherwise its first characters.
"""

from __future__ import annotations

import time
from typing import Any

from .. import events as ev
from .. import keys
from .._runtime import runtime
from ..client import get_workflow_events, get_workflow_run
from ..hook_info import hook_info_from_record
from ..hooks import short_token
from ..run_info import TERMINAL_STATUSES, values_from_record
from ..run_queries import retry_message
from ..serialization import encode
from .timeline import build_timeline

__all__ = ["EVENTS_SHOWN", "run_detail"]

#: The event log shows at most this many events (the newest); the timeline uses all.
EVENTS_SHOWN = 2_000


def run_detail(run_id: str, full_tokens: bool) -> dict[str, Any]:
    """The run page's data; raises ``RunNotFoundError`` for an unknown run."""
    info = get_workflow_run(run_id)
    events = list(get_workflow_events(run_id))
    rt = runtime()
    record = rt.redis.hgetall(rt.system.actor_keys(run_id).record)
    return {
        "run": info.to_dict(),
        "values": encode(values_from_record(record)),
        "events": [_shown(e, full_tokens) for e in events[-EVENTS_SHOWN:]],
        "events_total": len(events),
        "timeline": build_timeline(events, time.time()),
        "children": _children(events),
        "hooks": _hooks(events, full_tokens),
        "now": time.time(),
        # Which buttons the page offers: cancel while the run is not finished, retry
        # when retry_run would do something (failed, parked, pending without a start).
        "can": {"cancel": info.status not in TERMINAL_STATUSES,
                "retry": retry_message(info) is not None},
    }


def _shown(event: dict[str, Any], full_tokens: bool) -> dict[str, Any]:
    """The event as the log shows it: a hook's token cut short unless actions are on."""
    data = event.get("data")
    if full_tokens or not isinstance(data, dict) or not isinstance(data.get("token"), str):
        return event
    return {**event, "data": {**data, "token": short_token(data["token"])}}


def _children(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = [e["data"]["child_run_id"] for e in events
           if e["type"] == ev.CHILD_STARTED and e["data"].get("child_run_id")]
    if not ids:
        return []
    rt = runtime()
    pipe = rt.redis.pipeline(transaction=False)
    for child in ids:
        pipe.hmget(rt.system.actor_keys(child).record, ("workflow", "status"))
    out = []
    for child, (workflow, status) in zip(ids, pipe.execute(), strict=True):
        out.append({"run_id": child, "workflow": workflow.decode() if workflow else None,
                    "status": status.decode() if status else "purged"})
    return out


def _hooks(events: list[dict[str, Any]], full_tokens: bool) -> list[dict[str, Any]]:
    tokens = [e["data"]["token"] for e in events
              if e["type"] == ev.HOOK_CREATED and e["data"].get("token")]
    if not tokens:
        return []
    rt = runtime()
    pipe = rt.redis.pipeline(transaction=False)
    for token in tokens:
        pipe.hgetall(keys.hook(rt.settings.key_prefix, token))
    out = []
    for token, raw in zip(tokens, pipe.execute(), strict=True):
        info = hook_info_from_record(token, raw)
        if info is None:
            continue
        shown = info.to_dict()
        shown["token"] = token if full_tokens else short_token(token)
        out.append(shown)
    return out
