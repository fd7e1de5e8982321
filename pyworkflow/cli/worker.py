"""``pyworkflow worker run``: a real Celery worker with the user's module imported."""

from __future__ import annotations

import os

import click

from ..worker._runtime import runtime
from ._root import CliError, cli


@cli.group()
def worker() -> None:
    """Run workers."""


@worker.command("run")
@click.option("--concurrency", "-c", type=int, default=None,
              help="Worker processes/threads (default: number of CPUs).")
@click.option("--pool", "-P", type=click.Choice(["prefork", "solo", "threads"]),
              default="prefork", show_default=True)
@click.option("--queues", "-Q", default=None,
              help="Comma-separated queues (default: this deployment's turns and steps).")
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.option("--hostname", "-n", default=None, help="Worker node name.")
@click.option("--import-beat", "import_beat", default=None, metavar="MODULE:APP",
              help="At start, import this Celery app's beat_schedule as schedules "
                   "(as `schedules import-beat` does; every worker may).")
@click.pass_context
def run(ctx: click.Context, concurrency: int | None, pool: str, queues: str | None,
        loglevel: str, hostname: str | None, import_beat: str | None) -> None:
    """Start a worker that runs workflow turns and steps."""
    rt = runtime()
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
        rt.celery.conf.imports = [module]
    names = rt.queues
    argv = [
        "worker", f"--loglevel={loglevel}", f"--pool={pool}",
        f"--queues={queues or ','.join([names['turns'], names['steps']])}",
        f"--hostname={hostname or f'pyworkflow-{os.getpid()}@%h'}",
        "--without-gossip", "--without-mingle",
    ]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    rt.celery.worker_main(argv)
