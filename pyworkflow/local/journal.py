"""Where a ``--runtime local`` run is kept when a Redis answers: so it can be resumed.

A local run executes in the command's own process (``local_runtime.LocalRuntime``).
Kept only in memory, it ends with the process; kept here, a run stopped by Ctrl-C,
a closed terminal or a crash continues where it stopped with
``workflows run NAME --resume RUN_ID``. After every turn and step attempt one
``MULTI`` appends the journals' new events to a list and rewrites the rest of the
state (``_env_state``), so what Redis holds is always a whole state: a
step attempt that was running when the process died runs again on resume, as a
worker's lost attempt does (steps are at-least-once everywhere).

One process runs a local run at a time: the runner holds an owner mark that a
heartbeat thread renews every few seconds and that lapses ``OWNER_TTL_S`` after its
process dies. A process can also stall without dying (a step holding the GIL starves
the heartbeat): its mark lapses, another process may take the run over with
``--resume`` and go on, and the stalled one wakes up behind it. So a save is a
conditional write (one Lua script, :data:`_SAVE`) fenced by the mark: it writes only
while the mark is this process's, and renews it. A mark that lapsed with nobody
taking it is taken back only if Redis still holds exactly what this process last
saved (the state's SHA-1 and the journal's length); otherwise the save is refused
and the stale process stops with :class:`RunTakenOver`, leaving the newer state
alone. The heartbeat renews the mark under the same fence (so a stalled process
nobody took over has its mark back within seconds, even while its run waits on a
long timer), and giving the mark up is a compare-and-delete: a stale process never
extends or deletes another's mark.

A saved run is checked as it is loaded (``_env_state.check_state``, each event's
shape, each journal's ``seq`` running 1, 2, 3...): a malformed one is refused with a
:class:`LocalRunError` naming the run and what is wrong, not a ``KeyError``
deep in the restore. Everything expires ``retention`` after the last save (the run
retention setting; 30 days by default). Each save also notes the run in an index of
saved local runs (:meth:`LocalJournal._index`) that ``runs list --local`` reads.
Which Redis: the configured one, else one answering on 127.0.0.1:6379, else the
embedded server if it is running already (it is never started for a local run);
with none, the journal stays in memory and the CLI says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import redis

from .. import keys
from ..config import Settings, load_settings, redact_url, redis_client
from ..worker._embedded_redis import DEFAULT_HOST, DEFAULT_PORT, embedded_status, redis_answers
from ._env_state import (
    MalformedState,
    capture,
    check_journals,
    check_state,
    event_from_json,
    event_to_json,
    restore,
)

if TYPE_CHECKING:
    from actors.journal import Event

    from .environment import WorkflowEnvironment

#: How long an owner mark outlives its last renewal (a killed process's run is
#: free to resume after this).
OWNER_TTL_S = 15
#: How long a saved local run is kept after its last save when retention is off.
FALLBACK_RETENTION_S = 30 * 86400


class LocalRunError(Exception):
    """A local run cannot be saved, found or resumed; the message says why."""


class RunTakenOver(LocalRunError):
    """This process lost its owner mark and another process has the run now: it stops
    without saving (its state is older than what Redis holds)."""


# The fence both scripts below share. KEYS: owner mark, events list, state string.
# ARGV: token, retention s, owner ttl s, then the journal length and state SHA-1 this
# process last saved or loaded ("" for no state). Sets ``holder`` and returns true when
# the mark is this process's, or lapsed while Redis still holds what it last saved.
_FENCE = """
local holder = redis.call('GET', KEYS[1])
local function ours()
  if holder == ARGV[1] then return true end
  if holder then return false end
  holder = ''
  local state = redis.call('GET', KEYS[3])
  local sha = ''
  if state then sha = redis.sha1hex(state) end
  return sha == ARGV[5] and redis.call('LLEN', KEYS[2]) == tonumber(ARGV[4])
end
"""

# The fence, then ARGV[6] the new state and ARGV[7...] the new events. Returns
# {1, ""} when written (the mark renewed), else {0, holder} ("" when the mark lapsed
# and someone wrote since this process's last save).
_SAVE = _FENCE + """
if not ours() then return {0, holder} end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
for i = 7, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('SET', KEYS[3], ARGV[6], 'EX', ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return {1, ''}
"""

# The fence; 1 if the mark was renewed (or taken back), 0 if another process has it.
_RENEW = _FENCE + """
if not ours() then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
"""

# KEYS: owner mark. ARGV: token. Deletes the mark only if it is ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
"""


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
        # What Redis holds as of this process's last save or load: the fence that lets
        # a process whose mark lapsed (and nobody took) take it back.
        self._saved_sha = ""
        self._saved_length = 0
        self._save_script = client.register_script(_SAVE)
        self._renew_script = client.register_script(_RENEW)
        self._release_script = client.register_script(_RELEASE)
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
        """Every third of the mark's life: renew it, or take it back if it lapsed while
        nobody wrote (this process stalled). When another process has it, this does
        nothing: the next save finds out and stops the run here."""
        while not self._stop.wait(OWNER_TTL_S / 3):
            try:
                self._renew_script(keys=self._keys(), args=self._fence_args())
            except redis.RedisError:
                continue  # the next save says so if Redis stays away

    def _keys(self) -> list[str]:
        assert self.run_id is not None
        return [keys.local_run_owner(self._prefix, self.run_id),
                keys.local_run_events(self._prefix, self.run_id),
                keys.local_run_state(self._prefix, self.run_id)]

    def _fence_args(self) -> list[Any]:
        """ARGV[1..5] of ``_FENCE``. Read while a save may update them: a mixed pair
        only fails to match, never matches wrongly (Redis holds one whole save)."""
        return [self._token, self._ttl, OWNER_TTL_S, self._saved_length, self._saved_sha]

    def close(self) -> None:
        """Stop renewing and give the run up (it can be resumed at once)."""
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=2)
        if self.run_id is not None and not self._lost:
            owner = keys.local_run_owner(self._prefix, self.run_id)
            try:
                self._release_script(keys=[owner], args=[self._token])
            except redis.RedisError:
                pass  # it lapses by itself

    # -- saving and loading ----------------------------------------------------------
    def save(self, env: WorkflowEnvironment) -> None:
        """Append new events and rewrite the state, in one script that writes only
        while this process holds the run's owner mark (see the module's docstring);
        raises :class:`RunTakenOver` when it does not."""
        if self.run_id is None:
            return
        if self._lost:
            raise self._taken_over("")
        new: list[str] = []
        for run_id, journal in env.journals.items():
            saved = self._saved.get(run_id, 0)
            new.extend(json.dumps(event_to_json(run_id, e), separators=(",", ":"))
                       for e in journal[saved:])
        state = json.dumps(capture(env), separators=(",", ":")).encode()
        try:
            written, holder = self._save_script(keys=self._keys(),
                                                args=[*self._fence_args(), state, *new])
        except redis.RedisError as exc:
            raise LocalRunError(f"could not save local run {self.run_id} to {self.where}: "
                                f"{exc}") from None
        if not written:
            self._lost = True
            raise self._taken_over(holder.decode(errors="replace") if holder else "")
        self._saved = {run_id: len(journal) for run_id, journal in env.journals.items()}
        self._saved_sha = hashlib.sha1(state).hexdigest()
        self._saved_length += len(new)
        self._index()

    def _index(self) -> None:
        """Note the run in the index ``runs list --local`` reads (a sorted set by last
        save, :func:`keys.local_runs_index`), trim what is past the retention and expire
        it with the runs. Written after the save, outside its script (on a Redis Cluster
        it is in another slot): a failure here loses the run's line in the listing for
        one save, never the run, so it is not an error."""
        assert self.run_id is not None
        index, now = keys.local_runs_index(self._prefix), time.time()
        try:
            with self._client.pipeline(transaction=False) as pipe:
                pipe.zadd(index, {self.run_id: now})
                pipe.zremrangebyscore(index, "-inf", now - self._ttl)
                pipe.expire(index, self._ttl)
                pipe.execute()
        except redis.RedisError:
            pass

    def saved(self, limit: int) -> list[tuple[str, float, bytes]]:
        """Up to ``limit`` saved local runs, newest save first: each top run's id, when
        it was last saved and its saved state. Read-only: no mark taken, nothing written;
        an id whose state is gone (purged, expired) is skipped."""
        index, start = keys.local_runs_index(self._prefix), 0
        found: list[tuple[str, float, bytes]] = []
        while len(found) < limit:
            page: list[tuple[bytes, float]] = list(self._client.zrevrangebyscore(  # type: ignore[arg-type]
                index, "+inf", time.time() - self._ttl, start=start, num=limit,
                withscores=True))
            if not page:
                return found
            with self._client.pipeline(transaction=False) as pipe:  # one slot per run
                for raw, _ in page:
                    pipe.get(keys.local_run_state(self._prefix, raw.decode()))
                states = pipe.execute()
            found += [(raw.decode(), float(score), state)
                      for (raw, score), state in zip(page, states, strict=True)
                      if state is not None]
            start += len(page)
        return found[:limit]

    def _taken_over(self, holder: str) -> RunTakenOver:
        by = f"another process ({holder})" if holder else "another process"
        return RunTakenOver(
            f"local run {self.run_id} was taken over by {by} while this one was stalled "
            f"for longer than its claim lasts ({OWNER_TTL_S} s); this process stops here "
            "without saving, so the run keeps what the other process saved (continue it "
            f"with --resume {self.run_id} once that process has stopped)")

    def load(self, env: WorkflowEnvironment, run_id: str) -> None:
        """Fill a fresh environment with the saved run; raises :class:`LocalRunError`
        if there is none, or if what is saved is malformed (naming what is wrong)."""
        with self._client.pipeline(transaction=True) as pipe:
            pipe.get(keys.local_run_state(self._prefix, run_id))
            pipe.lrange(keys.local_run_events(self._prefix, run_id), 0, -1)
            state_raw, raw_events = pipe.execute()
        if state_raw is None:
            raise LocalRunError(f"no local run {run_id} is saved in {self.where} (it never "
                                "ran with this Redis, or its retention has passed)")
        try:
            journals = self._journals(raw_events)
            try:
                state: Any = json.loads(state_raw)
            except ValueError as exc:
                raise MalformedState(f"its state is not JSON ({exc})") from None
            check_state(state)
            for owner_id in state["records"]:
                journals.setdefault(owner_id, [])
            check_journals(state, journals)
            restore(env, state, journals)
        except MalformedState as exc:
            raise LocalRunError(f"local run {run_id} saved in {self.where} cannot be resumed: "
                                f"{exc}") from None
        self._saved = {owner_id: len(journal) for owner_id, journal in journals.items()}
        self._saved_length = len(raw_events)
        self._saved_sha = hashlib.sha1(state_raw).hexdigest()

    @staticmethod
    def _journals(raw_events: list[bytes]) -> dict[str, list[Event]]:
        journals: dict[str, list[Event]] = {}
        for index, raw in enumerate(raw_events, 1):
            try:
                item = json.loads(raw)
            except ValueError:
                raise MalformedState(f"event {index} of its journal is not JSON") from None
            owner_id, event = event_from_json(item, index)
            journals.setdefault(owner_id, []).append(event)
        return journals


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
