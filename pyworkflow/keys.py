"""Redis keys of pyworkflow's own global structures: one place that decides them.

A run's own keys (journal, record, mailbox, ...) are the actor runtime's
(``actors.keys``); what lives here spans runs. Each global structure carries its own
hash tag, so on a Redis Cluster it sits in one slot and no script mixes it with a
run's keys.
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


def hook(prefix: str, token: str) -> str:
    """Hash: one hook's record (run, call, name, status, expiry, claimed payload)."""
    return f"{prefix}:{{hooks}}:{token}"


def run_hooks(prefix: str, run_id: str) -> str:
    """Set: the tokens of one run's hooks (a cancel closes them)."""
    return f"{prefix}:{{hooks}}:run:{run_id}"


def hooks_index(prefix: str) -> str:
    """Sorted set: every hook token, by creation time."""
    return f"{prefix}:{{index}}:hooks"


def run_app_log(prefix: str, run_id: str) -> str:
    """Stream: the lines a run's code logged (``pyworkflow.app_log``), capped. It carries
    the run's own hash tag (the slot of its journal and record); purged with the run."""
    return f"{prefix}:{{{run_id}}}:applog"


def step_leases(prefix: str) -> str:
    """Sorted set: step attempts (``ids.step_attempt``) by when their lease expires."""
    return f"{prefix}:{{stepleases}}"


def step_lease_dead_prefix(prefix: str) -> str:
    """Prefix of the marks of attempts already reported lost (``+ ids.step_attempt``)."""
    return f"{prefix}:{{stepleases}}:dead:"


def step_lease_starts_prefix(prefix: str) -> str:
    """Prefix of the start counters of attempts (``+ ids.step_attempt``), as they were
    kept until issue 29: one key per attempt. Read only, for counters written before."""
    return f"{prefix}:{{stepleases}}:starts:"


def step_starts(prefix: str, run_id: str) -> str:
    """Hash: ``<call_id>|<attempt>`` -> how many times that attempt of the run's step
    started (``StepLeases``). One hash per run (with the run's hash tag) rather than a key
    per attempt: about 40 bytes an attempt instead of 120."""
    return f"{prefix}:{{{run_id}}}:starts"


def schedules_index(prefix: str) -> str:
    """Sorted set: every schedule id that exists (deleted ones leave it), by creation time."""
    return f"{prefix}:{{index}}:schedules"


def schedule_origins(prefix: str) -> str:
    """Hash: schedule id -> where it came from (``beat:proj.celery:app[entry]``), for
    those an import made (``schedules.origin``)."""
    return f"{prefix}:{{index}}:schedule-origins"


def runs_purge_index(prefix: str) -> str:
    """Sorted set: finished runs, scored by when retention purges them (seconds)."""
    return f"{prefix}:{{index}}:purge"


def step_metrics(prefix: str) -> str:
    """Hash: step attempt counters and duration buckets for ``/metrics``."""
    return f"{prefix}:{{metrics}}:steps"


def turn_metrics(prefix: str) -> str:
    """Hash: run counters, turn latency and timer lateness for ``/metrics``."""
    return f"{prefix}:{{metrics}}:turns"


def worker_heartbeats(prefix: str) -> str:
    """Sorted set: each worker's maintenance loop, by when it last said it was alive."""
    return f"{prefix}:{{metrics}}:workers"


# -- routing (``pyworkflow.routing``): what workers have, and work waiting for one --------
def worker_adverts(prefix: str) -> str:
    """Hash: worker node name -> JSON of what it runs (queues, workflows, steps, its
    direct queue) and when it last said so (``worker.adverts``)."""
    return f"{prefix}:{{workers}}:adverts"


def waiting_needs(prefix: str) -> str:
    """Set: the needs (``workflow:<name>``, ``step:<name>``) that work has waited for."""
    return f"{prefix}:{{waiting}}:needs"


def waiting_order(prefix: str, need: str) -> str:
    """Sorted set: work waiting for a worker that has ``need`` (a run id, or a step
    attempt's task id), by when it began to wait."""
    return f"{prefix}:{{waiting}}:order:{need}"


def waiting_tasks(prefix: str, need: str) -> str:
    """Hash: the same members -> the task (JSON) to send once such a worker appears."""
    return f"{prefix}:{{waiting}}:tasks:{need}"


def local_run_events(prefix: str, run_id: str) -> str:
    """List: the journal events of a ``--runtime local`` run and its children, in order
    (each a JSON ``[run_id, event]``), so ``--resume`` can continue it."""
    return f"{prefix}:{{local:{run_id}}}:events"


def local_run_state(prefix: str, run_id: str) -> str:
    """String: the rest of a local run's in-process state (records, mailbox, pending step
    attempts, timers, hooks) as JSON, rewritten after each turn or step attempt."""
    return f"{prefix}:{{local:{run_id}}}:state"


def local_run_owner(prefix: str, run_id: str) -> str:
    """String with a TTL: which process is running a local run (two never run it at once)."""
    return f"{prefix}:{{local:{run_id}}}:owner"


def web_csrf_secret(prefix: str) -> str:
    """String: the dashboard's CSRF token when no auth token is set (every web process of
    one deployment reads the same one)."""
    return f"{prefix}:{{web}}:csrf"


def local_runs_index(prefix: str) -> str:
    """Sorted set: the top run id of every saved local run, scored by its last save
    (seconds); entries older than the run retention are trimmed on each save."""
    return f"{prefix}:{{local-index}}:runs"


# -- flow control (``pyworkflow.flow``): each limit key's structures share one hash tag ----
def slot_group(prefix: str, limit: str, key: str) -> str:
    """The base of one limit key's structures (``limit``: ``workflow:<name>`` or
    ``step:<name>``; ``key``: its key's value, ``""`` for a limit with no key). Their hash
    tag is the whole group, so one limit key's Lua touches one Cluster slot."""
    return f"{prefix}:{{flow:{limit}:{key}}}"


def slot_keys(prefix: str, limit: str, key: str) -> list[str]:
    """The keys the slot scripts take, in their order: holders (sorted set: holder ->
    lease expiry, ms), waiters (sorted set: holder -> arrival number), payloads (hash:
    holder -> what to deliver when it is granted, kept until it takes its slot), order
    (sorted set: holder -> arrival number, for ``cancel_oldest``), meta (hash: max,
    arrivals counter, waits counted)."""
    group = slot_group(prefix, limit, key)
    return [f"{group}:holders", f"{group}:waiters", f"{group}:payloads", f"{group}:order",
            f"{group}:meta"]


def slot_index(prefix: str) -> str:
    """Sorted set: every limit key with holders or waiters (``limit`` US ``key``), scored
    by when the sweep should look at it next (ms)."""
    return f"{prefix}:{{flow}}:due"


def rate_limit(prefix: str, limit: str, key: str) -> list[str]:
    """A rate limit key's state: its theoretical arrival time (string, ms) and the
    reservations of deferred attempts (sorted set: attempt -> when it may start, ms)."""
    group = f"{prefix}:{{rate:{limit}:{key}}}"
    return [f"{group}:tat", f"{group}:reserved"]


def rate_index(prefix: str) -> str:
    """Sorted set: every rate limit key used, scored by its last use (ms), for the CLI."""
    return f"{prefix}:{{flow}}:rates"


def debounce(prefix: str, workflow: str, key: str) -> str:
    """Hash: the run a debounced start made for (workflow, key) and its timer, while its
    window is open."""
    return f"{prefix}:{{debounce:{workflow}:{key}}}"


def flow_metrics(prefix: str) -> str:
    """Hash: slot waits and rate-limited starts, counted for ``/metrics``."""
    return f"{prefix}:{{metrics}}:flow"
