"""Rate limits as an app writes them: ``"100/m"``, ``"20/s"``, ``"5000/h"``, ``"3/10s"``.

Parsed once, where the step is declared (``"abc"`` fails at import), into a count
per period. The limiter itself (``rate_limiter.py``) spaces starts ``period / count``
apart on the Redis clock (GCRA), with a burst of ``burst`` starts at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..durations import parse_duration

_FORM = re.compile(r"\s*(\d+)\s*/\s*(\S+)\s*", re.ASCII)
_UNITS = {"s": "1s", "sec": "1s", "second": "1s", "m": "1m", "min": "1m", "minute": "1m",
          "h": "1h", "hour": "1h", "d": "1d", "day": "1d"}
#: The most starts a rate may allow per period (a bound on a key's counters).
MAX_RATE_COUNT = 1_000_000


@dataclass(frozen=True)
class RateLimit:
    count: int
    period_s: float
    burst: int = 1

    @property
    def interval_ms(self) -> float:
        """The spacing between two starts."""
        return self.period_s * 1000 / self.count

    def describe(self) -> str:
        return f"{self.count}/{self.period_s:g}s"


def parse_rate(text: str, burst: int = 1) -> RateLimit:
    """``"100/m"`` as a :class:`RateLimit`; ``ValueError`` naming the forms otherwise."""
    if not isinstance(text, str):
        raise TypeError(f"rate_limit is a string such as '100/m', not {text!r}")
    match = _FORM.fullmatch(text)
    if match is None:
        raise ValueError(f"rate_limit {text!r} is not a rate; write a count per period: "
                         "'100/m', '20/s', '5000/h', '3/10s'")
    count = int(match.group(1))
    period = _UNITS.get(match.group(2), match.group(2))
    try:
        period_s = parse_duration(period)
    except (TypeError, ValueError):
        raise ValueError(f"rate_limit {text!r}: {match.group(2)!r} is not a period "
                         "(s, m, h, d or a duration such as 10s)") from None
    if not 1 <= count <= MAX_RATE_COUNT or period_s <= 0:
        raise ValueError(f"rate_limit {text!r}: the count is 1..{MAX_RATE_COUNT} per a "
                         "period longer than 0")
    if isinstance(burst, bool) or not isinstance(burst, int) or not 1 <= burst <= count:
        raise ValueError(f"rate_limit burst {burst!r} must be 1..{count}")
    return RateLimit(count, period_s, burst)
