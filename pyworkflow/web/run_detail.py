"""Everything the run page shows about one run, gathered in one call.

Read from what the run itself wrote: its record (status, arguments, result or error,
published values) and its journal (events, timeline, children, hooks). Hooks and
children are found through the run's own ``hook_created`` / ``child_started``
events, so the page never walks the global hooks index.

The answer is bounded, whatever the journal holds: the page polls it every two seconds
per open tab, and a run's journal has no bound (150 signals of 1 MB made a 157 MB
answer, read whole from Redis each time). So only the newest events are read (a
reverse range of the journal, a page at a time, until ``EVENTS_SHOWN`` events or
``READ_BUDGET_BYTES`` of them were read), and everything the page draws from events
comes from those: the event log, the timeline (a call opened before them has no bar),
children and hooks. ``events_total`` (the journal's length) and
``timeline.truncated`` say when that is not the whole journal. Each shown event's
large values are cut short (``VALUE_CHARS``) with a marker naming their size;
``pyworkflow runs logs`` still shows them whole.

A hook's token is the credential that resumes it, so the page gets it whole only
when actions are on (to resume from the page); otherwise its first characters.
"""

from __future__ import annotations

import json
import time
from typing import Any

from actors.sealed import decode_entry, events_of

from .. import events as ev
from .. import keys
from ..client import get_workflow_run
from ..client.hooks import short_token
from ..client.run_queries import event_dict, retry_message
from ..event_text import EventReader
from ..hook_info import hook_info_from_record
from ..run_info import values_from_record
from ..serialization import encode
from ..worker._runtime import Runtime, runtime
from ..worker.app_log_store import read_app_log
from .timeline import build_timeline

__all__ = ["EVENTS_SHOWN", "run_detail"]

#: The page reads at most this many events, the newest: the event log shows them, and
#: the timeline, children and hooks are drawn from them.
EVENTS_SHOWN = 2_000
#: Journal bytes one answer reads, about (the newest events; the page that crosses it is
#: the last one read): large events leave fewer than ``EVENTS_SHOWN`` on the page.
READ_BUDGET_BYTES = 8 * 1024 * 1024
#: Events read by the first round trip (small: how large they are is not known yet),
#: and by any later one at most (each is sized to what is left of the budget).
FIRST_PAGE, MAX_PAGE = 10, 500
#: A value of a shown event's data longer than this as JSON is cut short (a marker with
#: its size and its first ``PREVIEW_CHARS`` characters).
VALUE_CHARS = 2_000
PREVIEW_CHARS = 200
#: A traceback is what an operator opens the page for: kept whole up to this many
#: characters (a deep one is a few kB), cut short like any value past it.
TRACEBACK_CHARS = 20_000
#: App log lines the page shows (the newest; ``runs logs --app`` prints all it keeps).
APP_LOG_SHOWN = 200


def run_detail(run_id: str, full_tokens: bool) -> dict[str, Any]:
    """The run page's data; raises ``RunNotFoundError`` for an unknown run."""
    info = get_workflow_run(run_id)
    rt = runtime()
    events, total = _newest_events(rt, run_id)
    record = rt.redis.hgetall(rt.system.actor_keys(run_id).record)
    now = time.time()
    timeline = build_timeline(events, now)
    timeline["events"] = len(events)
    timeline["truncated"] = total > len(events)
    return {
        "run": info.to_dict(),
        "values": encode(values_from_record(record)),
        "events": _with_views([_shown(e, full_tokens) for e in events]),
        "events_total": total,
        "timeline": timeline,
        "children": _children(events),
        "hooks": _hooks(events, full_tokens),
        "app_log": _app_log(rt, run_id),
        "now": now,
        # Which buttons the page offers, by the rules the commands use: cancel while the
        # run is not finished (``runs cancel`` leaves a finished run alone), retry when
        # retry_run would do something (failed, parked, pending without a start).
        "can": {"cancel": not info.finished, "retry": retry_message(info) is not None},
    }


def _newest_events(rt: Runtime, run_id: str) -> tuple[list[dict[str, Any]], int]:
    """The newest events (oldest first, large values cut short) within the bounds, and
    how many events the journal holds."""
    keys = rt.system.actor_keys(run_id)
    key = keys.journal
    total = rt.system.journal(run_id).last_seq()  # seqs run 1..n, sealed or not
    newest: list[dict[str, Any]] = []
    read, upper, count = 0, "+", FIRST_PAGE
    while len(newest) < EVENTS_SHOWN and read < READ_BUDGET_BYTES:
        want = min(count, EVENTS_SHOWN - len(newest))
        entries = rt.redis.xrevrange(key, upper, "-", count=want)
        for entry_id, fields in entries:
            read += sum(len(v) for v in fields.values())
            e = decode_entry(entry_id, fields)
            newest.append(event_dict(e.seq, e.type, e.ts, _capped(e.data)))
        if len(entries) < want:
            # The stream is read to its start: what is older is sealed (``actors.sealed``),
            # if anything; the newest of those, within what is left to show.
            below = newest[-1]["seq"] if newest else total + 1
            older = [e for e in events_of(rt.redis.get(keys.sealed), run_id) if e.seq < below]
            for e in reversed(older[-(EVENTS_SHOWN - len(newest)):] if older else []):
                newest.append(event_dict(e.seq, e.type, e.ts, _capped(e.data)))
            break
        eid = entries[-1][0]
        upper = "(" + (eid.decode() if isinstance(eid, bytes) else str(eid))
        each = max(1, read // len(newest))
        count = max(1, min(MAX_PAGE, (READ_BUDGET_BYTES - read) // each))
    newest.reverse()
    return newest, max(total, len(newest))


def _app_log(rt: Runtime, run_id: str) -> dict[str, Any]:
    """The newest ``APP_LOG_SHOWN`` lines the run's code logged (oldest first), each
    message and field cut short like any value, and how many earlier lines there are."""
    lines, earlier = read_app_log(rt.redis, rt.settings.key_prefix, run_id, APP_LOG_SHOWN)
    return {"earlier": earlier,
            "lines": [{"ts": line.ts, "level": line.level, "logger": line.logger,
                       "message": _cut(line.message), "fields": _capped(line.fields)}
                      for line in lines]}


def _capped(data: Any) -> Any:
    """``data`` with each value longer than ``VALUE_CHARS`` (as JSON) replaced by a
    marker; data that is not an object is measured whole."""
    if isinstance(data, dict):
        return {k: _cut(v, TRACEBACK_CHARS if k == "traceback" else VALUE_CHARS)
                for k, v in data.items()}
    return _cut(data)


def _cut(value: Any, limit: int = VALUE_CHARS) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if len(text) <= limit:
        return value
    return {"$truncated": len(text), "preview": text[:PREVIEW_CHARS]}


def _with_views(shown: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each event with ``view``: what the log row shows, rendered by the code that
    renders ``runs logs`` lines (call id, the type's fields, a step's duration and
    traceback), so the page and the CLI say the same thing."""
    reader = EventReader()
    out = []
    for event in shown:
        view = reader.read(event)
        out.append({**event, "view": {
            "call_id": view.call_id, "parts": view.parts(), "took": view.took,
            "traceback": view.traceback if isinstance(view.traceback, str) else None,
            "same_traceback_as": view.same_traceback_as}})
    return out


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
