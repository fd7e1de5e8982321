"""``pyworkflow workflows list|info|run``: the workflows a module registers, and starting them.

``run`` checks the arguments against the workflow's signature before anything is
written, so a typo is a one-line error with a suggestion, not a run that fails
on a worker, and against its type annotations (``_arg_types``: a value that does
not fit is exit code 2). ``--wait`` follows the run's journal live, through a
continue-as-new chain to its last run, and makes the exit code tell a script
whether the chain completed. A repeated start with an idempotency key says it
returned the existing run rather than "Started".
"""

from __future__ import annotations

import inspect
import time
from typing import Any

import click

from .. import client, registry
from ..errors import IdempotencyKeyUsedError, RunNotFoundError, WorkflowNotFoundError
from ..serialization import SerializationError
from ..worker.idempotency import IF_FINISHED_CHOICES
from . import _output as out
from ._arg_types import check_argument_types
from ._arguments import ArgumentError, bind_arguments, format_signature
from ._history import format_event
from ._root import CliError
from .in_process import run_local_here, run_transient_here, runtime_option
from .needs_redis import NeedsRedis
from .runs import follow_run
from .seconds import SECONDS

_EXAMPLE = {int: "5", float: "9.99", bool: "true", "int": "5", "float": "9.99", "bool": "true"}


def _find(name: str) -> Any:
    try:
        return registry.get_workflow(name)
    except WorkflowNotFoundError as exc:
        raise CliError(f"{exc}{_module_hint()}") from None


def _module_hint() -> str:
    """Most "unknown workflow" errors are a forgotten ``--module``: say so."""
    if click.get_current_context().find_root().obj.get("module"):
        return ""
    return " (no --module given: pass the module that defines your workflows, " \
           "e.g. pyworkflow --module myapp.workflows ...)"


def _first_line(doc: str | None) -> str:
    lines = inspect.cleandoc(doc).splitlines() if doc else []
    return lines[0] if lines else ""


def _parameters(signature: inspect.Signature) -> list[dict[str, Any]]:
    """Parameters as data, for ``-o json``: enough for a form or a script to build a call."""
    rows = []
    for p in signature.parameters.values():
        ann = p.annotation
        rows.append({
            "name": p.name, "kind": p.kind.name.lower(),
            "annotation": None if ann is p.empty else (ann if isinstance(ann, str)
                                                       else inspect.formatannotation(ann)),
            "required": p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD),
            "default": None if p.default is p.empty else p.default,
        })
    return rows


def _describe(wf: Any) -> dict[str, Any]:
    return {"name": wf.name, "signature": format_signature(wf.name, wf.signature, returns=True),
            "parameters": _parameters(wf.signature), "doc": inspect.cleandoc(wf.doc or "") or None,
            "options": dict(wf.options or {})}


def _example_command(wf: Any) -> str:
    module = click.get_current_context().find_root().obj.get("module")
    words = ["pyworkflow", *(["--module", module] if module else []), "workflows", "run", wf.name]
    for p in wf.signature.parameters.values():
        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            words.append(f"--arg {p.name}={_EXAMPLE.get(p.annotation, '...')}")
    return " ".join(words)


@click.group(cls=NeedsRedis)
def workflows() -> None:
    """List, describe and start the workflows your --module registers."""
    out.keep_stdout_clean()


@workflows.command("list")
def list_workflows() -> None:
    """List registered workflows with their parameters."""
    found = sorted(registry.list_workflows(), key=lambda wf: wf.name)
    if out.is_json():
        out.emit_json([_describe(wf) for wf in found])
        return
    if not found:
        click.echo("No workflows registered." + (_module_hint() or
                   " Does the module decorate its functions with @workflow?"))
        return
    out.print_table(["NAME", "PARAMETERS", "DESCRIPTION"], [
        [wf.name, format_signature("", wf.signature)[1:-1], out.truncate(_first_line(wf.doc), 60)]
        for wf in found])


@workflows.command("info")
@click.argument("name")
def info(name: str) -> None:
    """Show a workflow's signature, documentation and options."""
    wf = _find(name)
    data = _describe(wf)
    if out.is_json():
        out.emit_json(data)
        return
    options = ", ".join(f"{k}={out.compact(v)}" for k, v in data["options"].items()) or "(defaults)"
    out.print_fields([("Workflow", wf.name), ("Signature", data["signature"]),
                      ("Options", options), ("Run it", _example_command(wf))])
    if data["doc"]:
        click.echo()
        click.echo(data["doc"])


_START_OPTIONS = ("idempotency_key", "if_finished", "queue", "priority")


class ArgumentTypeError(CliError):
    """A value that does not fit its parameter's type: a usage error, exit code 2
    (one line, like every refusal; nothing was started)."""

    exit_code = 2


def _start(wf: Any, args: list[Any], kwargs: dict[str, Any], key: str | None,
           if_finished: str, route: dict[str, Any] | None = None) -> tuple[str, bool]:
    """The run's id, and whether this call started it (False: the idempotency key
    already named a run, which ``start`` returned)."""
    # ``start`` takes ``idempotency_key`` and ``if_finished`` itself: a workflow
    # parameter of either name must travel positionally, which works unless it is
    # keyword-only.
    if any(name in kwargs for name in _START_OPTIONS):
        bound = wf.signature.bind(*args, **kwargs)
        args, kwargs = list(bound.args), dict(bound.kwargs)
        for name in _START_OPTIONS:
            if name in kwargs:
                raise CliError(f"{wf.name} has a keyword-only parameter {name!r}, which "
                               "clashes with start()'s option of that name; rename the "
                               "parameter")
    options: dict[str, Any] = {} if if_finished == "return" else {"if_finished": if_finished}
    options.update(route or {})
    try:
        run_id = client.start(wf.name, *args, idempotency_key=key, **options, **kwargs)
        return str(run_id), bool(getattr(run_id, "created", True))
    except IdempotencyKeyUsedError as exc:
        raise CliError(str(exc)) from None
    except SerializationError as exc:
        raise CliError(f"cannot store the arguments of {wf.name}: {exc}") from None
    except ValueError as exc:  # a bad --queue or --priority
        raise CliError(str(exc)) from None
    except TypeError as exc:  # the SDK's own argument check; its message names the signature
        raise CliError(str(exc)) from None


@workflows.command("run")
@click.argument("name")
@click.option("--arg", "-a", "arg_items", multiple=True, metavar="KEY=VALUE",
              help="A keyword argument; VALUE is read as JSON when it parses, else as text "
                   "(repeatable).")
@click.option("--args-json", metavar="JSON",
              help="All arguments as a JSON object (keywords) or list (positional); "
                   "--arg overrides its keys.")
@click.option("--idempotency-key", "-k", metavar="KEY",
              help="Start at most one run per key: a repeat returns the existing run's id.")
@click.option("--if-finished", type=click.Choice(IF_FINISHED_CHOICES), default="return",
              show_default=True,
              help="With --idempotency-key, when the key's run has ended: return it, start "
                   "a new run with the key, or refuse (exit 1).")
@click.option("--wait", is_flag=True,
              help="Follow the run's events until it finishes; exit 1 unless it completed.")
@click.option("--timeout", type=SECONDS, metavar="SECONDS",
              help="With --wait: give up waiting after this long (the run goes on).")
@click.option("--no-durable", is_flag=True,
              help="Run it transient: in this process, nothing journaled, no worker "
                   "(sleeps are plain waits; step retries still apply).")
@click.option("--queue", metavar="QUEUE",
              help="The queue the run's turns and steps go to (default: its workflow's).")
@click.option("--priority", type=click.IntRange(0, 9), metavar="0-9",
              help="Higher first within a queue (default: its workflow's, else 5).")
@click.option("--resume", "resume_id", metavar="RUN_ID",
              help="With --runtime local: continue a local run that was stopped (Ctrl-C, "
                   "a crash) from its journal in Redis; it keeps the arguments it started "
                   "with.")
def run(name: str, arg_items: tuple[str, ...], args_json: str | None,
        idempotency_key: str | None, if_finished: str, wait: bool,
        timeout: float | None, no_durable: bool, queue: str | None, priority: int | None,
        resume_id: str | None) -> None:
    """Start a workflow run (and optionally wait for its outcome).

    \b
    Examples:
      pyworkflow -m app.flows workflows run order_workflow --arg order_id=o-1 --arg amount=9.99
      pyworkflow -m app.flows workflows run order_workflow --args-json '["o-1", 9.99]' --wait
      pyworkflow --runtime local -m app.flows workflows run order_workflow --arg order_id=o-1 \
          --arg amount=9.99 --no-durable
    """
    if timeout is not None and not wait:
        raise click.UsageError("--timeout only applies with --wait")
    wf = _find(name)
    if resume_id is not None:
        _resume_local(wf, resume_id, no_durable, idempotency_key)
        return
    try:
        args, kwargs = bind_arguments(wf.name, wf.signature, arg_items, args_json)
    except ArgumentError as exc:
        raise CliError(str(exc)) from None
    try:
        check_argument_types(wf.name, wf.fn, args, kwargs)
    except ArgumentError as exc:
        raise ArgumentTypeError(str(exc)) from None
    transient = no_durable or wf.options.get("durable") is False
    if transient or runtime_option() == "local":
        if idempotency_key:
            raise CliError("--idempotency-key needs the celery runtime: local and transient "
                           "runs keep nothing to remember the key in")
        (run_transient_here if transient else run_local_here)(wf, args, kwargs)
        return
    route = {k: v for k, v in (("queue", queue), ("priority", priority)) if v is not None}
    run_id, created = _start(wf, args, kwargs, idempotency_key, if_finished, route)
    if wait:
        _wait(run_id, wf.name, timeout, created)
        return
    status = _status_after_start(run_id)
    if out.is_json():
        out.emit_json({"run_id": run_id, "workflow": wf.name, "status": status,
                       "created": created})
        return
    if created:
        click.echo(f"Started {wf.name}: run {run_id} ({status})")
    else:
        click.echo(f"Existing run of {wf.name}: run {run_id} ({status}); idempotency key "
                   f"{idempotency_key!r} already named it, nothing new was started")
    click.echo("Next:")
    click.echo(f"  pyworkflow runs status {run_id}")
    click.echo(f"  pyworkflow runs logs {run_id}")


def _resume_local(wf: Any, run_id: str, no_durable: bool, idempotency_key: str | None) -> None:
    """``--resume``: only a durable local run has a saved journal to continue."""
    if runtime_option() != "local":
        raise CliError("--resume continues a run of the local runtime (add --runtime local); "
                       "a run on Celery workers goes on by itself, see: pyworkflow runs status "
                       f"{run_id}")
    if no_durable or wf.options.get("durable") is False:
        raise CliError("--resume needs a durable run: a transient run keeps no journal")
    if idempotency_key:
        raise CliError("--idempotency-key does not apply to --resume")
    run_local_here(wf, [], {}, resume_id=run_id)


def _status_after_start(run_id: str) -> str:
    """The status just after ``start``; "pending" if the record is not readable yet."""
    try:
        return str(client.get_workflow_run(run_id).status)
    except RunNotFoundError:
        return "pending"


def _wait(run_id: str, workflow: str, timeout: float | None, created: bool = True) -> None:
    """Follow the run, and the runs it continued as, to the end of its chain (as
    ``get_result(..., follow=True)`` does); exit 0 only if the last run completed (1 on
    failure, cancel, park, timeout)."""
    json_mode = out.is_json()
    if not json_mode:
        what = "Started" if created else "Existing run of"
        click.echo(f"{what} {workflow}: run {run_id}; following its events (Ctrl-C stops "
                   "following, not the run)")
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        info, finished = _follow_chain(run_id, json_mode, deadline)
    except KeyboardInterrupt:
        click.echo(f"Stopped following; run {run_id} goes on. Resume with: "
                   f"pyworkflow runs logs {run_id} --follow", err=True)
        raise click.exceptions.Exit(130) from None
    if json_mode:
        out.emit_json(info.to_dict())
    else:
        _print_outcome(info, finished, timeout)
    raise click.exceptions.Exit(0 if finished and info.status == "completed" else 1)


def _follow_chain(run_id: str, json_mode: bool, deadline: float | None) -> tuple[Any, bool]:
    """``follow_run`` on the run, then on each run it continued as, until one settles
    otherwise or the deadline passes: the chain's last run and whether it settled."""
    while True:
        info, finished = follow_run(
            run_id, lambda e: None if json_mode else click.echo(format_event(e)),
            timeout=_left(deadline))
        successor = getattr(info, "continued_to", None)
        if not (finished and info.status == "continued_as_new" and successor):
            return info, finished
        if not json_mode:
            click.echo(f"Run {run_id} continued as new: following run {successor}")
        if not _appeared(successor, deadline):
            return info, False
        run_id = successor


def _appeared(run_id: str, deadline: float | None) -> bool:
    """Wait for a successor's record, which its first turn writes (a moment after its
    predecessor ended); False if the deadline passes first."""
    while True:
        try:
            client.get_workflow_run(run_id)
            return True
        except RunNotFoundError:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _print_outcome(info: Any, finished: bool, timeout: float | None) -> None:
    if not finished:
        click.echo(f"Timed out after {out.format_duration(timeout)}: run {info.run_id} is still "
                   f"{info.status}. Keep following with: pyworkflow runs logs {info.run_id} -f")
        return
    click.echo(f"Status: {info.status}")
    if info.status == "completed":
        click.echo(f"Result: {out.compact(info.result)}")
    elif info.error:
        click.echo(f"Error:  {info.error.get('type', 'Error')}: {info.error.get('message', '')}")
        click.echo(f"Details: pyworkflow runs status {info.run_id}")
