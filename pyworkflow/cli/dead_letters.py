"""``pyworkflow dead-letters list``: what workers met in their queues and set aside.

Why: a worker survives any bytes in its task queues and in runs' mailboxes by
moving what it cannot read or run to the deployment's dead letters
(``actors.dead_letters``) with the reason. That is only safe if an operator can
see them: this lists them, newest last, with where each came from and why. The
table shows the start of each entry; ``--output json`` has the kept bytes
(``raw``, the first 64 KiB as text), the original ``size`` and ``truncated``.
"""

from __future__ import annotations

import click

from actors.dead_letters import DeadLetters

from ..worker._runtime import runtime
from . import _output as out
from .needs_redis import NeedsRedis


@click.group("dead-letters", cls=NeedsRedis)
def dead_letters() -> None:
    """Queue entries and messages workers could not use, with the reason."""


@dead_letters.command("list")
@click.option("--queue", "-q", metavar="QUEUE", help="Only entries from this queue.")
@click.option("--run-id", "-r", metavar="RUN_ID", help="Only entries from this run's mailbox.")
@click.option("--limit", "-n", type=click.IntRange(min=1, max=10_000), default=50,
              show_default=True)
def list_dead_letters(queue: str | None, run_id: str | None, limit: int) -> None:
    """List the newest dead letters (oldest of them first)."""
    out.keep_stdout_clean()
    rt = runtime()
    # The actor system's own store, built without the system (and so without Celery).
    store = DeadLetters(rt.redis, rt.keys.dead_letters)
    found = store.entries(limit, queue=queue, actor_id=run_id)
    if out.is_json():
        out.emit_json([d.as_dict() for d in found])
        return
    if not found:
        click.echo("No dead letters" + (" matching the filters." if queue or run_id else "."))
        return
    out.print_table(
        ["AT", "FROM", "REASON", "SIZE", "START"],
        [[out.format_time(d.at), d.actor_id or d.queue, out.truncate(d.reason, 70), d.size,
          out.truncate(d.raw, 60)] for d in found],
    )
