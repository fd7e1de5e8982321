"""Flow control: concurrency limits per key, rate limits, and what they share.

The names an app writes (``Limit``, a ``rate_limit`` string) are pure and live in
``limit.py`` and ``rate.py``; the Redis side (slots held under a lease, waiters in
order of arrival, the GCRA rate limiter) lives in the other modules here, each with
its Lua beside it. This ``__init__`` imports only the pure half, so the workflow
half of the package (``@workflow``, ``@step``) can name a limit without reaching
Redis.
"""

from __future__ import annotations

from .limit import POLICIES, Limit
from .rate import RateLimit, parse_rate

__all__ = ["POLICIES", "Limit", "RateLimit", "parse_rate"]
