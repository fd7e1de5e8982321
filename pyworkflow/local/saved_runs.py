"""Saved local runs, read only: what ``runs list|status|logs --local`` show.

A ``--runtime local`` run saved in Redis (:mod:`.journal`) is found through the index
every save updates (:func:`pyworkflow.keys.local_runs_index`: a sorted set by last
save, trimmed to the run retention), newest first, not by a SCAN of the keyspace.
Showing one run loads it as ``--resume`` does (:meth:`LocalJournal.load`, with the
same checks, so a forged or malformed one is refused with what is wrong) into a
fresh environment that is never driven: no owner mark is taken and nothing is saved,
so a run going on in another process is shown as of its last save, undisturbed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import RunNotFoundError
from ..run_info import RunInfo, run_info_from_record
from .environment import WorkflowEnvironment
from .journal import LocalJournal, LocalRunError, open_local_journal

_RUN_ID = re.compile(r"[A-Za-z0-9_.:-]{1,200}")


def open_saved_runs(config_file: str | None = None) -> LocalJournal:
    """The Redis local runs are saved in; :class:`LocalRunError` when none answers."""
    journal, _ = open_local_journal(config_file)
    if journal is None:
        raise LocalRunError("no Redis answers, so there are no saved local runs to read "
                            "(they are saved in PYWORKFLOW_REDIS_URL, else 127.0.0.1:6379)")
    return journal


def list_saved(journal: LocalJournal, limit: int) -> list[RunInfo]:
    """Up to ``limit`` saved local runs, newest save first, from their saved records
    (their journals are not read). One whose state cannot be read shows as
    ``malformed`` rather than hiding it or failing the whole listing."""
    found = []
    for run_id, saved_at, raw in journal.saved(limit):
        record = _record(raw, run_id)
        if record is None:
            found.append(RunInfo(run_id, "?", "malformed", updated_at=saved_at))
        else:
            found.append(run_info_from_record(run_id, {k.encode(): str(v).encode()
                                                       for k, v in record.items()}))
    return found


def _record(raw: bytes, run_id: str) -> dict[str, Any] | None:
    try:
        state = json.loads(raw)
        record = state["records"][run_id]
    except (ValueError, TypeError, KeyError):
        return None
    return record if isinstance(record, dict) else None


def load_saved(journal: LocalJournal, run_id: str) -> tuple[RunInfo, list[dict[str, Any]]]:
    """The saved run's info and its journal (as ``runs logs -o json`` shows events);
    :class:`LocalRunError` for an unknown or malformed one."""
    if not _RUN_ID.fullmatch(run_id):  # a brace would reach another key's hash tag
        raise LocalRunError(f"{run_id!r} is not a run id")
    env = WorkflowEnvironment()
    journal.load(env, run_id)
    try:
        return env.get_run(run_id), env.events(run_id)
    except (RunNotFoundError, KeyError):  # saved under another top run's id
        raise LocalRunError(f"local run {run_id} saved in {journal.where} has no record "
                            "of itself") from None
