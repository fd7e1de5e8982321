"""Every size limit of schedules, in one place.

A schedule lives for years and one bad record must not break a worker, a turn or
``schedules list`` for everyone, so every input is bounded at the door (the spec's
check, the API, the CLI), and the actor refuses a stray message outside them too:

===========================  ==============================================================
``MIN_INTERVAL_S``           1 s: an interval's shortest (a firing is a run, not a loop)
``MAX_INTERVAL_S``           100 years: an interval's longest
``EARLIEST_MS``              1970-01-01T00:00:00Z: the earliest ``start_at``, ``end_at``
                             and backfill bound
``LATEST_MS``                2200-01-01T00:00:00Z: the latest ones (far enough for any
                             plan, and the next firing after it still fits a datetime)
``MAX_CRON_LENGTH``          100 characters of cron expression
``MAX_TIMEZONE_LENGTH``      64 characters of IANA timezone name
``MAX_JITTER_S``             1 day of jitter (a delay of a firing, not another schedule)
``MAX_SCHEDULE_ID_LENGTH``   200 characters of schedule id, ``SCHEDULE_ID_CHARS`` only
``MAX_NOTE_LENGTH``          500 characters of pause note
``MAX_CATCH_UP``             100: missed firings a late timer considers (the newest)
``MAX_BACKFILL``             1,000: firings one backfill starts; a wider range is refused
``RECENT_FIRES``             1,000: fire times a schedule remembers to refuse a second run
``MAX_BUFFERED_FIRINGS``     1,000: firings that wait for a run to end (``buffer_all``);
                             one more is skipped (``schedule_skipped``, reason ``buffer
                             full``), and the schedule goes on
``MAX_TURN_CRASHES``         3: turn tasks of a schedule that may die in a row before the
                             schedule is parked in ``error`` (poison)
===========================  ==============================================================

A run's arguments are bounded by :data:`pyworkflow.serialization.MAX_BYTES`, as for
any run. Counting is bounded as well: no check walks more than ``MAX_BACKFILL + 1``
(or ``MAX_CATCH_UP``) firings, whatever range it is given.
"""

from __future__ import annotations

import string

MIN_INTERVAL_S = 1.0
MAX_INTERVAL_S = 100 * 365.25 * 86400.0
EARLIEST_MS = 0
LATEST_MS = 7_258_118_400_000  # 2200-01-01T00:00:00Z
MAX_CRON_LENGTH = 100
MAX_TIMEZONE_LENGTH = 64
MAX_JITTER_S = 86400.0
MAX_SCHEDULE_ID_LENGTH = 200
SCHEDULE_ID_CHARS = frozenset(string.ascii_letters + string.digits + "-_.:")
MAX_NOTE_LENGTH = 500
MAX_CATCH_UP = 100
MAX_BACKFILL = 1000
RECENT_FIRES = 1000
MAX_BUFFERED_FIRINGS = 1000
MAX_TURN_CRASHES = 3
