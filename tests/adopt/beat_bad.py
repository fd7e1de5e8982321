"""Celery apps whose beat schedules cannot be imported (each refused with its reason)."""

from __future__ import annotations

import datetime as dt

from celery import Celery
from celery.schedules import crontab, solar

solar_app = Celery("adopt_solar", broker="memory://")
solar_app.conf.beat_schedule = {
    # A solar schedule as beat_schedule holds it; made without its constructor, which
    # needs the ephem package (celery[solar]): the import only looks at its class.
    "at-dawn": {"task": "adopt.tick", "schedule": solar.__new__(solar)},
}

cron_app = Celery("adopt_cron", broker="memory://")
cron_app.conf.timezone = "Europe/Paris"
cron_app.conf.beat_schedule = {
    "weekday-mornings": {"task": "adopt.tick", "args": ("x",),
                         "schedule": crontab(minute="*/15", hour="9-17", day_of_week="mon-fri")},
    "every-90s": {"task": "adopt.tick", "args": ("y",), "schedule": dt.timedelta(seconds=90)},
}

not_an_app = object()

#: Changed between imports by a test (same app path, new beat_schedule).
moving_app = Celery("adopt_moving", broker="memory://")
moving_app.conf.beat_schedule = {
    "a": {"task": "adopt.tick", "schedule": 30.0, "args": ("a",)},
    "b": {"task": "adopt.tick", "schedule": 60.0, "args": ("b",)},
}
