"""``pyworkflow queues list|show``: backlog per queue, the workers reading each queue
and what they advertise, and work waiting for a worker that has its code.

``show`` prints sections, one function each (:data:`SHOW_SECTIONS`): flow control's
view (slots held, rate limits) is one more section there, not a second command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ..routing import check_queue
from ..worker._runtime import runtime
from ..worker.queue_report import (
    QueueReport,
    levels,
    queue_reports,
    waiting_for_workers,
)
from . import _output as out
from ._root import CliError
from .flow_limits import limits_data, show_limits


@click.group()
def queues() -> None:
    """Queues: backlog, workers, work waiting for a worker."""


def _report_dict(report: QueueReport) -> dict[str, Any]:
    return {"queue": report.name, "celery_queues": [report.turns, report.steps],
            "turns_waiting": report.turns_waiting, "steps_waiting": report.steps_waiting,
            "workers": [{"node": a.node, "queues": a.queues, "workflows": a.workflows,
                         "steps": a.steps} for a in report.workers]}


def _waiting_dicts(rt: Any) -> list[dict[str, Any]]:
    return [{"need": w.need, "count": w.count, "oldest_s": round(w.oldest_s, 1),
             "served_by": w.served_by} for w in waiting_for_workers(rt)]


def _print_waiting(rt: Any) -> None:
    waiting = _waiting_dicts(rt)
    click.echo("Waiting for a worker that has their code:")
    if not waiting:
        click.echo("  nothing")
        return
    out.print_table(["NEEDS", "WAITING", "OLDEST", "LIVE WORKERS WITH IT"],
                    [[w["need"], w["count"], f"{w['oldest_s']:.0f}s",
                      ", ".join(w["served_by"]) or "none: start one"] for w in waiting])


@queues.command("list")
def list_queues() -> None:
    """Every queue a live worker reads (and the default one): backlog and workers."""
    rt = runtime()
    reports = queue_reports(rt)
    if out.is_json():
        out.emit_json({"queues": [_report_dict(r) for r in reports],
                       "waiting_for_worker": _waiting_dicts(rt)})
        return
    out.print_table(["QUEUE", "TURNS WAITING", "STEPS WAITING", "WORKERS"],
                    [[r.name, r.turns_waiting, r.steps_waiting,
                      ", ".join(a.node for a in r.workers) or "none"] for r in reports])
    click.echo()
    _print_waiting(rt)


def _backlog(rt: Any, report: QueueReport) -> None:
    out.print_fields([("Queue", report.name),
                      ("Celery queues", f"{report.turns} (turns), {report.steps} (steps)"),
                      ("Turns waiting", str(report.turns_waiting)),
                      ("Steps waiting", str(report.steps_waiting))])
    for role, queue in (("turns", report.turns), ("steps", report.steps)):
        per_level = levels(rt, queue)
        if per_level:
            click.echo(f"  {role} by broker level (0 first): " + ", ".join(
                f"{level}: {n}" for level, n in sorted(per_level.items())))


def _workers(rt: Any, report: QueueReport) -> None:
    click.echo("Workers reading it:")
    if not report.workers:
        click.echo("  none alive: its work waits in the queue until one starts")
        return
    for advert in report.workers:
        click.echo(f"  {advert.node}  queues: {', '.join(advert.queues)}")
        click.echo(f"    workflows: {', '.join(advert.workflows) or '-'}")
        click.echo(f"    steps: {', '.join(advert.steps) or '-'}")


def _waiting(rt: Any, report: QueueReport) -> None:
    _print_waiting(rt)


def _limits(rt: Any, report: QueueReport) -> None:
    """Flow control's section (``flow_limits``): every limit key, whatever its queue."""
    show_limits(rt.redis, rt.settings.key_prefix)


#: What ``queues show`` prints, in order: ``section(rt, report)``.
SHOW_SECTIONS: list[Callable[[Any, QueueReport], None]] = [_backlog, _workers, _waiting,
                                                           _limits]


@queues.command("show")
@click.argument("name", default="default")
def show(name: str) -> None:
    """One queue: backlog (per priority level on Redis), the workers reading it and what
    they advertise, work waiting for a worker."""
    try:
        check_queue(name, "queue")
    except ValueError as exc:
        raise CliError(str(exc)) from None
    rt = runtime()
    report = queue_reports(rt, [name])[0]
    if out.is_json():
        out.emit_json({**_report_dict(report),
                       "levels": {"turns": levels(rt, report.turns),
                                  "steps": levels(rt, report.steps)},
                       "waiting_for_worker": _waiting_dicts(rt),
                       "limits": limits_data(rt.redis, rt.settings.key_prefix)})
        return
    for i, section in enumerate(SHOW_SECTIONS):
        if i:
            click.echo()
        section(rt, report)
