"""Where a ``--runtime local`` run is kept when a Redis answers: so it can be resumed.

A local run executes in the command's own process (``local_runtime.LocalRuntime``).
Kept only in memory, it ends with the process; kept here, a run stopped by Ctrl-C,
a closed terminal or a crash continues where it stopped with
``workflows run NAME --resume RUN_ID``. After every turn and step attempt one
``MULTI`` appends the journals' new events to a list and rewrites the rest of the
state (``testing._env_state``), so what Redis holds is always a whole state: a
step attempt that was running when the process died runs again on resume, as a
worker's lost attempt does (steps are at-least-once everywhere).

One process runs a local run at a time: the runner holds an owner mark that a
heartbeat thread renews every few seconds and that lapses ``OWNER_TTL_S`` after its
process dies. Everything expires ``retention`` after the last save (the run
retention setting; 30 days by default). Which Redis: the configured one, else one
answering on 127.0.0.1:6379, else the embedded server if it is running already (it
is never started for a local run); with none, the journal stays in memory and the
CLI says so.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
from typing import TYPE_CHECKING, Any

import redis

from . import keys
from ._embedded_redis import DEFAULT_HOST, DEFAULT_PORT, embedded_status, redis_answers
from .config import Settings, load_settings, redact_url, redis_client
from .testing._env_state import capture, event_from_json, event_to_json, restore

if TYPE_CHECKING:
    from actors.journal import Event

    from .testing.environment import WorkflowEnvironment

#: How long an owner mark outlives its last renewal (a killed process's run is
#: free to resume after this).
OWNER_TTL_S = 15
#: How long a saved local run is kept after its last save when retention is off.
FALLBACK_RETENTION_S = 30 * 86400


class LocalRunError(Exception):
    """A local run cannot be saved, found or resumed; the message says why."""


class LocalJournal:
    """One local run (and its children) saved in Redis under the top run's id."""

    def __init__(self, client: redis.Redis, prefix: str, retention_s: float | None,
                 where: str) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl = int(retention_s or FALLBACK_RETENTION_S)
        self.where = where  # the Redis, redacted, for messages
        self.run_id: str | None = None
        self._saved: dict[str, int] = {}  # run id -> events already in Redis
        self._token = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._lost = False

    # -- owning a run --------------------------------------------------------------
    def own(self, run_id: str) -> None:
        """Become the one process running ``run_id`` (refused while another is)."""
        owner = keys.local_run_owner(self._prefix, run_id)
        if not self._client.set(owner, self._token, nx=True, ex=OWNER_TTL_S):
            raw = self._client.get(owner)
            holder = raw.decode(errors="replace") if isinstance(raw, bytes) else "?"
            raise LocalRunError(
                f"local run {run_id} is being run by another process ({holder}); if that "
                f"process is gone, its claim lapses within {OWNER_TTL_S} s")
        self.run_id = run_id
        self._heartbeat = threading.Thread(target=self._renew, name="pyworkflow-local-owner",
                                           daemon=True)
        self._heartbeat.start()

    def _renew(self) -> None:
        assert self.run_id is not None
        owner = keys.local_run_owner(self._prefix, self.run_id)
        while not self._stop.wait(OWNER_TTL_S / 3):
            try:
                if self._client.get(owner) != self._token.encode():
                    self._lost = True
                    return
                self._client.expire(owner, OWNER_TTL_S)
            except redis.RedisError:
                continue  # the next save says so if Redis stays away

    def close(self) -> None:
        """Stop renewing and give the run up (it can be resumed at once)."""
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=2)
        if self.run_id is not None and not self._lost:
            owner = keys.local_run_owner(self._prefix, self.run_id)
            try:
                if self._client.get(owner) == self._token.encode():
                    self._client.delete(owner)
            except redis.RedisError:
                pass  # it lapses by itself

    # -- saving and loading ----------------------------------------------------------
    def save(self, env: WorkflowEnvironment) -> None:
        """Append new events and rewrite the state, in one transaction."""
        if self.run_id is None:
            return
        if self._lost:
            raise LocalRunError(f"local run {self.run_id} was taken over by another process "
                                "(this one stalled longer than its claim lasts); stopping here")
        events_key = keys.local_run_events(self._prefix, self.run_id)
        state_key = keys.local_run_state(self._prefix, self.run_id)
        new: list[str] = []
        for run_id, journal in env.journals.items():
            saved = self._saved.get(run_id, 0)
            new.extend(json.dumps(event_to_json(run_id, e), separators=(",", ":"))
                       for e in journal[saved:])
        try:
            with self._client.pipeline(transaction=True) as pipe:
                if new:
                    pipe.rpush(events_key, *new)
                pipe.set(state_key, json.dumps(capture(env), separators=(",", ":")))
                pipe.expire(events_key, self._ttl)
                pipe.expire(state_key, self._ttl)
                pipe.execute()
        except redis.RedisError as exc:
            raise LocalRunError(f"could not save local run {self.run_id} to {self.where}: "
                                f"{exc}") from None
        self._saved = {run_id: len(journal) for run_id, journal in env.journals.items()}

    def load(self, env: WorkflowEnvironment, run_id: str) -> None:
        """Fill a fresh environment with the saved run (raises if there is none)."""
        state_raw = self._client.get(keys.local_run_state(self._prefix, run_id))
        if state_raw is None:
            raise LocalRunError(f"no local run {run_id} is saved in {self.where} (it never "
                                "ran with this Redis, or its retention has passed)")
        journals: dict[str, list[Event]] = {}
        for raw in self._client.lrange(keys.local_run_events(self._prefix, run_id), 0, -1):
            owner_id, event = event_from_json(json.loads(raw))
            journals.setdefault(owner_id, []).append(event)
        state: dict[str, Any] = json.loads(state_raw)
        for owner_id in state["records"]:
            journals.setdefault(owner_id, [])
        restore(env, state, journals)
        self._saved = {owner_id: len(journal) for owner_id, journal in journals.items()}


def open_local_journal(config_file: str | None = None) -> tuple[LocalJournal | None, str]:
    """The Redis a local run is saved in, if one answers, and a line saying where (or why
    it is kept in memory)."""
    settings = load_settings(config_file)
    url = _reachable_url(settings)
    if url is None:
        where = (f" at the configured {redact_url(settings.redis_url)}"
                 if settings.redis_url_configured else "")
        return None, (f"local runtime: no Redis answers{where}, so the run's journal is kept "
                      "in memory and ends with this process (it cannot be resumed)")
    where = redact_url(url)
    client = redis_client(url, retries=1, socket_timeout=10.0)
    return (LocalJournal(client, settings.key_prefix, settings.run_retention, where),
            f"local runtime: the run's journal is kept in Redis ({where}); if it is "
            "stopped, continue it with --resume RUN_ID")


def _reachable_url(settings: Settings) -> str | None:
    if settings.redis_url_configured:
        return settings.redis_url if _pings(settings.redis_url) else None
    if redis_answers(DEFAULT_HOST, DEFAULT_PORT):
        return settings.redis_url
    embedded = embedded_status(settings.data_dir)
    return f"unix://{embedded.socket}" if embedded.running else None


def _pings(url: str) -> bool:
    client = redis_client(url, retries=0, socket_timeout=1.0, socket_connect_timeout=1.0)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()
