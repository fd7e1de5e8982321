"""The preset dictionary a run's sealed journal is compressed with (``actors.sealed``).

A run's journal repeats the same words in every run: the event names, their data's
keys, a step's default policy, the message ids' suffixes. Given to zlib as a preset
dictionary they cost a back reference instead of their letters the first time they
occur, which halves a short run's sealed journal (a completed 3-step run: 331 -> about
160 bytes). The fragments are in the sealed JSON's own shape (``[type, data, msg id]``,
msg ids relative to the run: ``~``), the most frequent last (closest, so cheapest).

Frozen: a sealed value names its dictionary by id, so these bytes are read back as
long as such values exist. A better dictionary is a new id (and a new constant here),
never an edit of this one.
"""

from __future__ import annotations

from actors.sealed import register_dictionary

RUN_JOURNAL_DICTIONARY = 1

_FRAGMENTS_V1 = (
    '["schedule_fired",{"schedule_id":"',
    '"fire_time":',
    '["workflow_continued_as_new",{"run_id":"',
    '["value_set",{"key":"',
    '["patch_marked",{"change_id":"',
    '["workflow_parked",{"reason":"',
    '"error_type":"HistoryLimitError"',
    '["run_retried",{"by":"operator","masked":[',
    '"call_id":null,"retry_id":"',
    '["workflow_recovered",{"crashes":1,"recoveries":1,"where":"turn"}',
    '["cancel_requested",{"reason":null,"force":true}',
    '["workflow_cancelled",{"reason":',
    '["wait_cancelled",{"call_id":',
    '["signal_wait_started",{"call_id":',
    '["signal_delivered",{"call_id":',
    '["signal_received",{"name":"',
    '"payload":',
    '"signal_id":"',
    '["child_completed",{"call_id":',
    '["child_started",{"call_id":',
    '"child_run_id":"',
    '"workflow":"',
    '["hook_expired",{"call_id":',
    '["hook_received",{"call_id":',
    '"expires_at_ms":null,"timeout_s":null,"shielded":false},"~:start"]',
    '["hook_created",{"call_id":1,"name":"',
    '"token":"',
    '["sleep_completed",{"call_id":1},"~:timer:',
    '"duration_s":',
    '.0,"shielded":false},"~:start"]',
    '["sleep_started",{"call_id":1,"wake_at_ms":17',
    '"traceback":"Traceback (most recent call last):\\n  File \\"',
    '["workflow_failed",{"error":{"type":"',
    '"message":"',
    '["step_failed",{"call_id":1,"step":"',
    '"attempt":1,"error_type":"',
    '"error":"',
    '"error_class":"',
    '"fatal":false,"will_retry":true',
    '["step_retrying",{"call_id":1,"attempt":2,',
    '"retry_at_ms":',
    '["workflow_completed",{"result":',
    '"max_attempts":4,"retry_delay":"exponential","timeout":null},"~:',
    '["step_scheduled",{"call_id":1,"step":"',
    '"attempt":1,"args":[',
    '],"kwargs":{},',
    ':1:result"]',
    '["step_completed",{"call_id":1,"step":"',
    '"attempt":1,"result":',
    '{"s":1,"ts":[7535',
    '],"e":[["workflow_started",{"workflow":"',
    '"args":[],"kwargs":{}},"~:start"],',
)

#: the bytes of dictionary 1 (frozen; see the module's docstring)
RUN_JOURNAL_DICTIONARY_V1 = "".join(_FRAGMENTS_V1).encode()

register_dictionary(RUN_JOURNAL_DICTIONARY, RUN_JOURNAL_DICTIONARY_V1)
