# Kombu ships type hints for few of its functions; calls into it are not
# held to --strict (everything else in this module is).
# mypy: untyped-calls-exclude=kombu
"""Where the broker is and how to reach it: one description for the Celery app
(``celery_app.make_celery``) and for a process that only reads the queues' backlogs
(``pyworkflow queues``, the dashboard), which opens a Kombu connection of the same
form without building a Celery app (Celery and the engine cost a command ~0.15 s of
CPU that reading a few queue lengths does not need).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.sentinel import kombu_form

from ..config import Settings, celery_broker_url
from ..routing import BROKER_LEVELS

if TYPE_CHECKING:
    from kombu.connection import Connection

#: Celery's default ``broker_connection_timeout`` (s), which its read connections use.
CONNECT_TIMEOUT_S = 4.0


def kombu_broker(settings: Settings) -> tuple[str, dict[str, Any]]:
    """The broker's URL in Kombu's form, and the transport options (a Sentinel URL is
    Kombu's ``sentinel://`` list with the master's name among the options)."""
    url, sentinel_options = kombu_form(celery_broker_url(settings.broker_url))
    # One Redis list per priority level (``routing.broker_priority``), read in order.
    return url, {"visibility_timeout": 3600, "priority_steps": list(range(BROKER_LEVELS)),
                 **sentinel_options}


def read_connection(settings: Settings) -> Connection:
    """A connection to read the queues with: what the Celery app's ``connection_for_read``
    opens (same URL, transport options and, on Redis, the actors' Redis transport that
    ``actors.install`` names as the app's ``broker_transport``)."""
    from kombu.connection import Connection

    from actors import redis_transport

    url, options = kombu_broker(settings)
    return Connection(url, transport=redis_transport.transport_path(url),
                      transport_options=options, connect_timeout=CONNECT_TIMEOUT_S)
