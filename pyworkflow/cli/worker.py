"""``pyworkflow worker run``: a real Celery worker with the user's module imported."""

from __future__ import annotations

import os

import click
from celery.utils.nodenames import host_format

from ..routing import celery_queues, check_queue, direct_queue
from ..worker._runtime import runtime
from ..worker.adverts import NODE_ENV, QUEUES_ENV
from ._root import CliError


@click.group()
def worker() -> None:
    """Run workers."""


def celery_queue_names(prefix: str, queues: list[str], node: str) -> list[str]:
    """The Celery queues a worker reads: the turns and steps queues of each pyworkflow
    queue (a name with a dot is a Celery queue's own name, taken as is), and its direct
    queue (where work handed back for what it has arrives, ``worker.hand_back``)."""
    names: list[str] = []
    for queue in queues:
        names.extend([queue] if "." in queue else celery_queues(prefix, queue).values())
    names.append(direct_queue(prefix, node))
    return list(dict.fromkeys(names))


def _queue_list(value: str | None) -> list[str]:
    queues = [q.strip() for q in (value or "default").split(",") if q.strip()]
    for queue in queues:
        if "." not in queue:
            try:
                check_queue(queue, "--queues")
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--queues") from None
    return queues or ["default"]


@worker.command("run")
@click.option("--concurrency", "-c", type=int, default=None,
              help="Worker processes/threads (default: number of CPUs).")
@click.option("--pool", "-P", type=click.Choice(["prefork", "solo", "threads"]),
              default="prefork", show_default=True)
@click.option("--queues", "-Q", default=None,
              help="Comma-separated queues this worker takes work from (default: "
                   "default), as named by @workflow(queue=...) and @step(queue=...).")
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.option("--hostname", "-n", default=None, help="Worker node name.")
@click.option("--import-beat", "import_beat", default=None, metavar="MODULE:APP",
              help="At start, import this Celery app's beat_schedule as schedules "
                   "(as `schedules import-beat` does; every worker may).")
@click.pass_context
def run(ctx: click.Context, concurrency: int | None, pool: str, queues: str | None,
        loglevel: str, hostname: str | None, import_beat: str | None) -> None:
    """Start a worker that runs workflow turns and steps."""
    chosen = _queue_list(queues)
    node = host_format(hostname or f"pyworkflow-{os.getpid()}@%h")
    # The worker's processes advertise what they run (``worker.adverts``).
    os.environ[NODE_ENV] = node
    os.environ[QUEUES_ENV] = ",".join(q for q in chosen if "." not in q)
    rt = runtime()
    # Wired first, as it always was: the app, its tasks and the worker signals exist
    # before the canvas and beat modules below register anything.
    app = rt.celery
    from .. import canvas  # noqa: F401  (its built-in workflow: every worker runs canvases)
    from ..adopt import beat_task  # noqa: F401  (the workflow beat entries start)

    if import_beat:
        from ..schedules.beat_import import BeatImportError, import_on_worker_start

        try:
            import_on_worker_start(import_beat)
        except BeatImportError as exc:
            raise CliError(str(exc)) from None

    module = ctx.obj.get("module")
    if module:
        app.conf.imports = [module]
    argv = [
        "worker", f"--loglevel={loglevel}", f"--pool={pool}",
        f"--queues={','.join(celery_queue_names(rt.settings.key_prefix, chosen, node))}",
        f"--hostname={node}",
        "--without-gossip", "--without-mingle",
    ]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    app.worker_main(argv)
