"""The limits section of ``pyworkflow queues show``: concurrency slots held and waited
for per limit key, and the rate limits that deferred starts (``flow.status``).

A helper the ``queues`` command calls (``show_limits``), kept apart so flow control's
view has one home; ``limits_data`` is the same as plain data, for ``--output json``.
"""

from __future__ import annotations

import time
from typing import Any

import click

from ..flow.status import limits_view
from . import _output as out


def limits_data(redis: Any, prefix: str, limit_name: str | None = None) -> dict[str, Any]:
    return limits_view(redis, prefix, limit_name)


def show_limits(redis: Any, prefix: str, limit_name: str | None = None) -> None:
    """Print the section (tables), or nothing to say so."""
    data = limits_data(redis, prefix, limit_name)
    click.echo("Concurrency limits (slots held per key):")
    if data["slots"]:
        out.print_table(["LIMIT", "KEY", "HELD", "MAX", "WAITING"],
                        [[s["limit"], out.truncate(s["key"] or "(all)", 50), s["held"],
                          s["max"] if s["max"] is not None else "?", s["waiting"]]
                         for s in data["slots"]])
    else:
        click.echo("  none held, none waiting")
    click.echo("Rate limits (that deferred a start):")
    if data["rate_limits"]:
        now_ms = time.time() * 1000
        out.print_table(["LIMIT", "KEY", "NEXT FREE START", "RESERVED"],
                        [[r["limit"], out.truncate(r["key"] or "(all)", 50),
                          _next_free(r["next_free_ms"], now_ms), r["reserved"]]
                         for r in data["rate_limits"]])
    else:
        click.echo("  none has deferred a start")


def _next_free(at_ms: float | None, now_ms: float) -> str:
    if at_ms is None or at_ms <= now_ms:
        return "now"
    return f"in {(at_ms - now_ms) / 1000:.1f}s"
