"""The Celery app: Redis as broker and result backend, JSON only, a beat schedule."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

BROKER = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/2")

app = Celery("shop", broker=BROKER, backend=BROKER,
             include=["examples.celery.adopt.plain.tasks"])
app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"],
                timezone="UTC", broker_connection_retry_on_startup=True)
app.conf.beat_schedule = {
    "stock-report-every-30s": {"task": "shop.stock_report", "schedule": 30.0,
                               "args": ("warehouse-1",)},
    "weekday-digest": {"task": "shop.stock_report", "args": ("all",),
                       "schedule": crontab(minute=0, hour=7, day_of_week="mon-fri")},
}
