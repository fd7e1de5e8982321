"""The Celery app every pyworkflow process shares: configured from ``Settings``.

JSON only (no pickle on the wire), late acks with reject-on-worker-lost (a task
whose worker dies is not dropped by the broker), prefetch of one (a long step does
not hold other work hostage), and queue names under the key prefix so that
independent deployments (and test sessions) on one Redis never steal each
other's tasks. A worker survives any bytes in its queues: what it cannot read or
run is dead-lettered (``actors.task_consumer``, ``actors.transport_guard``) and
listed by ``pyworkflow dead-letters list``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from celery import Celery, signals

from actors import log as _log
from actors import task_consumer

from ..app_log import install_capture
from ..config import Settings, log_format
from ..ids import TURN_TASK
from .broker import kombu_broker


def queue_names(prefix: str) -> dict[str, str]:
    """Turns (orchestration, light) and steps (user code, maybe heavy) are apart so an
    operator can give them different workers."""
    return {"turns": f"{prefix}.turns", "steps": f"{prefix}.steps"}


def make_celery(settings: Settings) -> Celery:
    queues = queue_names(settings.key_prefix)
    url, transport_options = kombu_broker(settings)
    app = Celery("pyworkflow", set_as_current=True)
    app.conf.update(
        broker_url=url,
        result_backend=None,
        task_ignore_result=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_default_queue=queues["steps"],
        task_routes={TURN_TASK: {"queue": queues["turns"]}},
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_transport_options=transport_options,
        worker_send_task_events=False,
        task_send_sent_event=False,
        enable_utc=True,
    )
    task_consumer.guard(app)
    return app


#: Celery's loggers of one line per task (``Task ... received``, ``... succeeded in
#: 0.009s: None``): three quarters of a busy worker's log, and nothing an operator reads.
#: Those two lines are dropped unless ``--loglevel DEBUG``; everything else these
#: loggers say (a retry, a task that raised, one that was lost) still shows.
TASK_LINE_LOGGERS = ("celery.worker.strategy", "celery.app.trace")
#: What the dropped lines' message templates contain.
_TASK_LINE_MARKS = (" received", "succeeded in")


class _NoTaskLines(logging.Filter):
    """Drops Celery's per-task INFO lines (received, succeeded), keeps the rest."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        template = str(record.msg)
        return not any(mark in template for mark in _TASK_LINE_MARKS)


_NO_TASK_LINES = _NoTaskLines()


def _route_celery_logging(loglevel: Any = None, **_: Any) -> None:
    """Celery's own records go through structlog's chain (see ``actors.log``); what a
    run's code logs is also captured for its app log (``pyworkflow.app_log``)."""
    level = loglevel or "INFO"
    _log.configure(fmt=log_format(), level=level, force=True, stream=sys.stdout)
    install_capture()
    debug = logging.getLogger().getEffectiveLevel() <= logging.DEBUG
    for name in TASK_LINE_LOGGERS:
        logger = logging.getLogger(name)
        logger.removeFilter(_NO_TASK_LINES)
        if not debug:
            logger.addFilter(_NO_TASK_LINES)


signals.setup_logging.connect(_route_celery_logging, weak=False)
