"""The one parameter type for the CLI's waits in seconds (``--timeout``, ``--wait``).

A wait is at least 0 and at most the longest duration pyworkflow accepts anywhere
(``durations.MAX_DURATION_S``, 100 years): past it click refuses the option in one
line, as it does a negative or non-numeric value (a larger float once reached a
deadline computation as ``inf``).
"""

from __future__ import annotations

import click

from ..durations import MAX_DURATION_S

SECONDS = click.FloatRange(min=0, max=MAX_DURATION_S)
