"""The root click group and the error handling every command shares.

The root knows its commands from the table in :mod:`._commands` and imports a command's
module only when it is named (:mod:`._lazy`): ``pyworkflow --help``, ``--version`` and a
mistyped command load neither Redis, Celery nor the client.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ._arguments import ArgumentError, check_command_line
from ._commands import ROOT
from ._lazy import LazyGroup


class CliError(click.ClickException):
    """A user-facing error: printed as one line, exit code 1."""


class _Group(LazyGroup):
    """Turns any exception into one line on stderr (unless ``--debug``)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:  # a run id or a value with bytes that are not UTF-8: one clear line
            check_command_line(args)
        except ArgumentError as exc:
            raise CliError(str(exc)) from None
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit,
                BrokenPipeError):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as exc:
            if ctx.meta.get("pyworkflow.debug"):
                raise
            message = str(exc) or type(exc).__name__
            raise CliError(f"{type(exc).__name__}: {message}") from None


@click.group(cls=_Group, lazy=ROOT)
@click.version_option(package_name="durable-celery", prog_name="pyworkflow")
@click.option("--module", "-m", "module", metavar="MODULE",
              help="Python module that defines your workflows (imported before the command).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="A TOML file with pyworkflow settings.")
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option("--runtime", type=click.Choice(["celery", "local"]), default="celery",
              show_default=True, envvar="PYWORKFLOW_RUNTIME",
              help="Where `workflows run` runs a workflow: on Celery workers, or in this "
                   "process (local: in this process, no worker; its journal is saved in "
                   "Redis when one answers (resume with --resume), else kept in memory).")
@click.pass_context
def cli(ctx: click.Context, module: str | None, config_file: str | None, output: str,
        debug: bool, runtime: str) -> None:
    """Durable, event-sourced Python workflows on Celery workers."""
    # Imported when a command runs, not with the CLI: --help, --version and a bad command
    # name need neither, and the runtime loads Redis and Celery (~0.3 s a process).
    from ..config import MODULE_ENV
    from ..worker import _runtime

    ctx.ensure_object(dict)
    ctx.obj["output"] = output
    ctx.obj["runtime"] = runtime
    # The module, from --module or else PYWORKFLOW_MODULE, read here once for every
    # command (and imported alike).
    module = module or os.environ.get(MODULE_ENV) or None
    ctx.obj["module"] = module
    ctx.meta["pyworkflow.debug"] = debug
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    _runtime.set_config_file(config_file)
    if module:
        try:
            _runtime.import_module(module)
        except ImportError as exc:
            raise CliError(f"cannot import module {module!r}: {exc}. Run pyworkflow from the "
                           "folder that contains it, or check the name.") from None
